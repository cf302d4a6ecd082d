import numpy as np
import pytest
from PIL import Image as PILImage

from restore.io import Image, ImageError, read_image, write_image


@pytest.mark.parametrize(
    ("suffix", "dtype", "channels"),
    [
        (".png", np.uint8, 1),
        (".png", np.uint8, 3),
        (".png", np.uint16, 1),
        (".png", np.uint16, 3),
        (".tif", np.uint16, 3),
        (".tif", np.uint8, 1),
        (".bmp", np.uint8, 3),
        (".webp", np.uint8, 3),
    ],
)
def test_lossless_round_trip(tmp_path, suffix, dtype, channels):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, np.iinfo(dtype).max, (13, 17, channels), dtype=dtype)
    write_image(tmp_path / f"a{suffix}", Image(pixels))
    back = read_image(tmp_path / f"a{suffix}")
    assert back.pixels.dtype == dtype and back.pixels.shape == pixels.shape
    assert np.array_equal(back.pixels, pixels)


def test_rgba_alpha_is_kept(tmp_path):
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (9, 11, 3), dtype=np.uint8)
    alpha = rng.integers(0, 256, (9, 11), dtype=np.uint8)
    write_image(tmp_path / "a.png", Image(pixels, alpha))
    back = read_image(tmp_path / "a.png")
    assert np.array_equal(back.pixels, pixels) and np.array_equal(back.alpha, alpha)


def test_rgb_channel_order_matches_pillow(tmp_path):
    pixels = np.zeros((4, 4, 3), np.uint8)
    pixels[..., 0] = 200  # red
    PILImage.fromarray(pixels).save(tmp_path / "red.png")
    assert read_image(tmp_path / "red.png").pixels[0, 0].tolist() == [200, 0, 0]


def test_exif_orientation_is_applied(tmp_path):
    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:, :20] = 255  # left half white
    im = PILImage.fromarray(pixels)
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    im.save(tmp_path / "rot.jpg", exif=exif, quality=95)
    back = read_image(tmp_path / "rot.jpg")
    assert back.pixels.shape[:2] == (40, 20)
    assert back.pixels[:20].mean() > 200 and back.pixels[20:].mean() < 50  # white half now on top


def test_sixteen_bit_to_jpeg_is_reduced_to_eight(tmp_path):
    pixels = np.full((8, 8, 3), 65535, np.uint16)
    write_image(tmp_path / "a.jpg", Image(pixels))
    assert read_image(tmp_path / "a.jpg").pixels.dtype == np.uint8


@pytest.mark.parametrize("content", [b"", b"not an image at all", b"\x89PNG\r\n\x1a\n" + b"\0" * 40])
def test_unreadable_files_name_the_file(tmp_path, content):
    path = tmp_path / "broken.png"
    path.write_bytes(content)
    with pytest.raises(ImageError, match="broken.png"):
        read_image(path)
    with pytest.raises(ImageError, match="missing.png"):
        read_image(tmp_path / "missing.png")


def test_write_is_atomic_and_leaves_no_temporary_files(tmp_path):
    write_image(tmp_path / "out" / "a.png", Image(np.zeros((4, 4, 1), np.uint8)))
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["a.png"]
    with pytest.raises(ImageError, match="unsupported output format"):
        write_image(tmp_path / "a.xyz", Image(np.zeros((4, 4, 1), np.uint8)))

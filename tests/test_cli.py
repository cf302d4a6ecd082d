import json
import os
import shutil
import stat
from pathlib import Path

import cv2
import numpy as np
import pytest

from restore.cli import main
from restore.io import read_image


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def mixed_folder(tmp_path, examples):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    shutil.copy(examples / "denoise" / "camera.png", src / "camera.png")
    shutil.copy(examples / "denoise" / "chelsea.png", src / "sub" / "chelsea.png")
    rgb = read_image(examples / "denoise" / "chelsea.png").pixels
    cv2.imwrite(str(src / "deep16.png"), cv2.cvtColor(rgb.astype(np.uint16) * 257, cv2.COLOR_RGB2BGR))
    (src / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    (src / "notes.txt").write_text("ignored: not an image")
    return src


def test_denoise_batch_with_a_corrupt_file(mixed_folder, tmp_path, capsys):
    before = _snapshot(mixed_folder)
    out = tmp_path / "out"
    report_path = tmp_path / "r.json"
    code = main(["denoise", str(mixed_folder), "-o", str(out), "--sigma", "25", "-q", "--report", str(report_path)])
    assert code == 1
    assert (out / "camera.png").is_file() and (out / "sub" / "chelsea.png").is_file()
    restored16 = read_image(out / "deep16.png")
    assert restored16.pixels.dtype == np.uint16 and restored16.pixels.shape == (256, 256, 3)
    assert not (out / "corrupt.jpg").exists()
    err = capsys.readouterr().err
    assert "corrupt.jpg" in err and "Traceback" not in err
    assert "3 done, 0 skipped, 1 failed" in err
    report = json.loads(report_path.read_text())
    assert report["failed"] == 1 and report["done"] == 3
    assert [f["status"] for f in report["files"] if f["input"].endswith("corrupt.jpg")] == ["failed"]
    assert _snapshot(mixed_folder) == before
    assert not [p for p in out.rglob("*.tmp")]


def test_output_folder_equal_to_input_never_overwrites(mixed_folder, capsys):
    before = _snapshot(mixed_folder)
    code = main(["denoise", str(mixed_folder / "camera.png"), "-o", str(mixed_folder), "-q"])
    assert code == 0
    assert (mixed_folder / "camera_denoise.png").is_file()
    after = _snapshot(mixed_folder)
    assert {k: v for k, v in after.items() if k in before} == before


def test_existing_outputs_skip_overwrite_or_fail(tmp_path, examples, capsys):
    src = examples / "denoise" / "camera.png"
    out = tmp_path / "out"
    assert main(["denoise", str(src), "-o", str(out), "-q"]) == 0
    first = (out / "camera.png").stat().st_mtime_ns
    assert main(["denoise", str(src), "-o", str(out), "-q"]) == 1
    assert "output exists" in capsys.readouterr().err
    assert main(["denoise", str(src), "-o", str(out), "-q", "--skip-existing"]) == 0
    assert (out / "camera.png").stat().st_mtime_ns == first
    assert main(["denoise", str(src), "-o", str(out), "-q", "--overwrite", "--format", "tif"]) == 0
    assert (out / "camera.tif").is_file()


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_target_is_reported(tmp_path, examples, capsys):
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        assert main(["denoise", str(examples / "denoise" / "camera.png"), "-o", str(out), "-q"]) == 1
        assert "cannot write" in capsys.readouterr().err
    finally:
        out.chmod(stat.S_IRWXU)


def test_unwritable_target_is_reported(tmp_path, examples, capsys):
    blocker = tmp_path / "file_not_folder"
    blocker.write_text("x")
    assert main(["denoise", str(examples / "denoise" / "camera.png"), "-o", str(blocker / "out"), "-q"]) == 1
    err = capsys.readouterr().err
    assert "cannot write" in err and "Traceback" not in err


def test_deblur_inpaint_upscale_end_to_end(tmp_path, examples):
    assert (
        main(
            [
                "deblur",
                str(examples / "deblur"),
                "-o",
                str(tmp_path / "d"),
                "--kernel",
                str(examples / "kernels" / "coffee.npy"),
                "--sigma",
                "2.55",
                "-q",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "deblur",
                str(examples / "deblur"),
                "-o",
                str(tmp_path / "d2"),
                "--motion",
                "15,30",
                "-q",
                "--method",
                "richardson-lucy",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "inpaint",
                str(examples / "inpaint"),
                "-o",
                str(tmp_path / "i"),
                "--mask",
                str(examples / "masks"),
                "-q",
                "--method",
                "ns",
            ]
        )
        == 0
    )
    restored = read_image(tmp_path / "i" / "astronaut.png").pixels
    original = read_image(examples / "inpaint" / "astronaut.png").pixels
    known = read_image(examples / "masks" / "astronaut.png").pixels[..., 0] == 0
    assert np.array_equal(restored[known], original[known])
    assert (
        main(
            [
                "upscale",
                str(examples / "upscale"),
                "-o",
                str(tmp_path / "u"),
                "--scale",
                "4",
                "-q",
                "--method",
                "bicubic",
            ]
        )
        == 0
    )
    assert read_image(tmp_path / "u" / "rocket.png").pixels.shape == (192, 192, 3)


def test_upscale_resizes_alpha(tmp_path):
    rgba = np.zeros((20, 30, 4), np.uint8)
    rgba[..., 3] = 255
    rgba[:, :15, 3] = 0
    cv2.imwrite(str(tmp_path / "a.png"), rgba)
    assert (
        main(
            ["upscale", str(tmp_path / "a.png"), "-o", str(tmp_path / "o"), "--scale", "2", "-q", "--method", "bicubic"]
        )
        == 0
    )
    out = read_image(tmp_path / "o" / "a.png")
    assert out.pixels.shape == (40, 60, 3) and out.alpha.shape == (40, 60)
    assert out.alpha[:, :28].max() < 10 and out.alpha[:, 32:].min() > 245


def test_usage_errors_are_clear(tmp_path, examples, capsys):
    assert main(["deblur", str(examples / "deblur"), "-o", str(tmp_path), "--kernel", str(tmp_path / "nope.png")]) == 2
    assert "nope.png" in capsys.readouterr().err
    assert main(["denoise", str(tmp_path / "nothing*.png"), "-o", str(tmp_path / "o"), "-q"]) == 2
    assert "no images found" in capsys.readouterr().err
    assert main(["denoise", str(examples / "denoise"), "-o", str(tmp_path / "o"), "--method", "magic"]) == 2
    assert "unknown method 'magic'" in capsys.readouterr().err
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"not a model file")
    assert main(["denoise", str(examples / "denoise"), "-o", str(tmp_path / "o"), "--method", str(broken)]) == 2
    err = capsys.readouterr().err
    assert "broken.safetensors: not a readable .safetensors file" in err and "Traceback" not in err
    assert main(["inpaint", str(examples / "inpaint"), "-o", str(tmp_path / "o"), "--mask", str(tmp_path / "m")]) == 2
    with pytest.raises(SystemExit):
        main(["denoise", str(examples), "-o", str(tmp_path), "--sigma", "-3"])


def test_an_image_too_small_to_estimate_its_noise_fails_clearly_and_restores_with_a_given_sigma(tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    cv2.imwrite(str(src / "tiny.png"), np.random.default_rng(0).integers(0, 256, (5, 9), np.uint8))
    assert main(["denoise", str(src), "-o", str(tmp_path / "blind"), "-q"]) == 1
    err = capsys.readouterr().err
    assert "tiny.png: 9x5 px is too small to estimate the noise level" in err and "Traceback" not in err
    assert main(["denoise", str(src), "-o", str(tmp_path / "given"), "--sigma", "25", "-q"]) == 0
    assert read_image(tmp_path / "given" / "tiny.png").pixels.shape == (5, 9, 1)


def test_mask_folder_without_a_match_fails_that_file(tmp_path, examples, capsys):
    (tmp_path / "masks").mkdir()
    assert (
        main(["inpaint", str(examples / "inpaint"), "-o", str(tmp_path / "o"), "--mask", str(tmp_path / "masks"), "-q"])
        == 1
    )
    assert "no mask named astronaut" in capsys.readouterr().err


def test_degrade_then_restore_then_evaluate(tmp_path, examples, capsys):
    clean = examples / "clean"
    deg = tmp_path / "deg"
    assert (
        main(
            [
                "degrade",
                str(clean / "coffee.png"),
                str(clean / "chelsea.png"),
                "-o",
                str(deg),
                "--blur",
                "shake:21",
                "--noise",
                "gaussian:2.55",
                "--seed",
                "7",
            ]
        )
        == 0
    )
    record = json.loads((deg / "degradations.json").read_text())
    assert len(record) == 2 and all(Path(r["kernel"]).is_file() for r in record)
    first = (deg / "coffee.png").read_bytes()
    assert (
        main(
            [
                "degrade",
                str(clean / "coffee.png"),
                "-o",
                str(tmp_path / "deg2"),
                "--blur",
                "shake:21",
                "--noise",
                "gaussian:2.55",
                "--seed",
                "7",
            ]
        )
        == 0
    )
    assert (tmp_path / "deg2" / "coffee.png").read_bytes() == first  # seeded by name, not by order
    out = tmp_path / "restored"
    assert main(["deblur", str(deg), "-o", str(out), "--kernel", str(deg / "kernels"), "-q"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(out), "--reference", str(clean)]) == 0
    table = capsys.readouterr().out
    assert "coffee.png" in table and "mean" in table
    assert (out / "metrics.csv").is_file()
    assert main(["evaluate", str(deg), "--reference", str(clean)]) == 0
    degraded_mean = float(capsys.readouterr().out.split("mean")[1].split()[0])
    restored_mean = float(table.split("mean")[1].split()[0])
    assert restored_mean > degraded_mean


def test_degrade_masks_and_downscale(tmp_path, examples):
    clean = examples / "clean"
    assert main(["degrade", str(clean / "astronaut.png"), "-o", str(tmp_path / "m"), "--mask", "thick"]) == 0
    assert read_image(tmp_path / "m" / "masks" / "astronaut.png").pixels.shape == (256, 256, 1)
    assert main(["degrade", str(clean / "rocket.png"), "-o", str(tmp_path / "s"), "--downscale", "3"]) == 0
    assert read_image(tmp_path / "s" / "rocket.png").pixels.shape == (64, 64, 3)
    assert main(["degrade", str(clean / "rocket.png"), "-o", str(tmp_path / "x"), "--noise", "laser:3"]) == 2


def test_demo_runs_every_task(tmp_path, capsys):
    assert main(["demo", "-o", str(tmp_path / "demo"), "-q"]) == 0
    out = capsys.readouterr().out
    for task in ("denoise", "deblur", "inpaint", "upscale"):
        assert task in out and any((tmp_path / "demo" / task).iterdir())


def test_self_ensemble_runs_through_the_engine(tmp_path, examples):
    # The Wiener filter is equivariant to rotations and flips, so its ensemble must match it:
    # a kernel that did not turn with the image (or a tile put back wrongly) would not.
    common = ["deblur", str(examples / "deblur"), "--kernel", str(examples / "kernels" / "coffee.npy")]
    common += ["--sigma", "2.55", "--method", "wiener", "-q"]
    assert main([*common, "-o", str(tmp_path / "single")]) == 0
    assert main([*common, "-o", str(tmp_path / "ensemble"), "--self-ensemble"]) == 0
    single = read_image(tmp_path / "single" / "coffee.png").pixels.astype(np.int16)
    ensemble = read_image(tmp_path / "ensemble" / "coffee.png").pixels.astype(np.int16)
    assert np.abs(single - ensemble).max() <= 1  # one 8-bit level of rounding

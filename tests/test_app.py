"""The web app: handlers called directly, the Gradio API through gradio_client, and a real browser."""

import re
import shutil
import socket
import tempfile
import time
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

gr = pytest.importorskip("gradio", reason="the web app needs the 'app' extra (gradio)")

from restore.app import (  # noqa: E402 (after the skip)
    AppConfig,
    Handlers,
    build_app,
    kernel_image,
    mask_from_editor,
    safe_member_name,
    serve,
)
from restore.io import read_image  # noqa: E402
from restore.kernels import motion_kernel  # noqa: E402
from restore.methods import available_methods  # noqa: E402

# Small enough that chelsea.png (180 KB) is an oversized upload, large enough for the other examples.
SERVER_CONFIG = AppConfig(max_upload_mb=0.16)
ENDPOINTS = ("denoise", "deblur", "inpaint", "upscale", "batch")
DONE = re.compile(r"^\S+( x[2-8])? on (CPU|GPU \(.+\)|MPS) in [0-9.]+ s ")  # method, device and time of a result


@pytest.fixture(scope="module")
def handlers():
    return Handlers(AppConfig())


def _copy(src: Path, folder: Path, name: str | None = None) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / (name or src.name)
    shutil.copy(src, target)
    return str(target)


def _result(download: str) -> np.ndarray:
    return read_image(download).pixels


def _check(result, height: int, width: int) -> None:
    (before, after), download, info = result
    pixels = _result(download)
    assert pixels.shape[:2] == (height, width)
    assert np.isfinite(pixels.astype(np.float64)).all()
    assert after.shape[:2] == before.shape[:2] == (height, width)
    assert DONE.search(_plain(info))


def read_image_bytes(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)


def _plain(markdown: str) -> str:
    return markdown.replace("**", "")


def test_build_app_does_not_launch():
    demo = build_app()
    assert isinstance(demo, gr.Blocks)
    assert not demo.is_running and demo.local_url is None and getattr(demo, "server", None) is None
    api_names = {fn.api_name for fn in demo.fns.values() if fn.api_visibility == "public"}
    assert api_names == set(ENDPOINTS)


def test_command_lines_reach_the_launcher(monkeypatch):
    import restore.app
    from restore.cli import main as cli_main

    calls = []
    monkeypatch.setattr(restore.app, "launch", lambda *args, **kwargs: calls.append((args, kwargs)) or 0)
    assert cli_main(["app", "--host", "0.0.0.0", "--port", "8080", "--share"]) == 0
    assert calls[-1][1] == {"host": "0.0.0.0", "port": 8080, "share": True}
    assert restore.app.main(["--port", "7861", "--max-size-mb", "5", "--max-pixels", "1000000", "--device", "cpu"]) == 0
    args, _ = calls[-1]
    assert args[:3] == ("127.0.0.1", 7861, False)
    assert args[3] == AppConfig(max_upload_mb=5, max_pixels=1_000_000, device="cpu")


def test_denoise_handler(handlers, examples):
    result = handlers.denoise(str(examples / "denoise" / "camera.png"), None, 25, True)
    _check(result, 256, 256)
    assert "noise σ = " in result[2]


def test_denoise_handler_keeps_16_bit_tiff_and_scores_against_ground_truth(handlers, examples, tmp_path):
    rgb = read_image(examples / "denoise" / "chelsea.png").pixels
    cv2.imwrite(str(tmp_path / "deep.tif"), cv2.cvtColor(rgb.astype(np.uint16) * 257, cv2.COLOR_RGB2BGR))
    result = handlers.denoise(str(tmp_path / "deep.tif"), "nlm", 25, False, str(examples / "clean" / "chelsea.png"))
    _check(result, 256, 256)
    assert result[1].endswith("deep_denoise.tif")
    assert _result(result[1]).dtype == np.uint16
    assert "PSNR" in result[2] and "SSIM" in result[2] and "noise σ = 25.0" in result[2]


@pytest.mark.parametrize("kind", ["motion", "gaussian", "disk", "file"])
def test_deblur_handler(handlers, examples, kind):
    psf = str(examples / "kernels" / "coffee.npy")
    result = handlers.deblur(str(examples / "deblur" / "coffee.png"), "wiener", kind, 15, 30, 1.5, 3, psf, 2.55, False)
    _check(result, 256, 256)


def test_large_images_are_tiled_with_progress(examples):
    calls = []

    def progress(fraction, desc=None):
        calls.append((fraction, desc))

    tiled = Handlers(AppConfig(tile=128))  # a 256x256 image in 128 px tiles stands in for a large photo
    result = tiled.denoise(str(examples / "denoise" / "camera.png"), "nlm", 25, False, None, progress)
    _check(result, 256, 256)
    assert calls[0] == (0, "Restoring")
    last = re.fullmatch(r"Restoring: tile (\d+) of (\d+)", calls[-1][1])
    assert calls[-1][0] == 1.0 and last and last[1] == last[2] and int(last[2]) > 1
    assert [f for f, _ in calls] == sorted(f for f, _ in calls)


def test_kernel_preview_follows_the_controls(handlers, examples):
    motion = handlers.kernel_preview("motion", 15, 30, 2, 4, None)
    assert motion.dtype == np.uint8 and motion.max() == 255
    assert not np.array_equal(motion, handlers.kernel_preview("motion", 15, 120, 2, 4, None))
    assert handlers.kernel_preview("file", 15, 30, 2, 4, None) is None
    assert handlers.kernel_preview("file", 15, 30, 2, 4, str(examples / "kernels" / "coffee.npy")) is not None
    assert kernel_image(motion_kernel(15, 30), edge=160).shape[0] >= 100


def test_inpaint_handler_keeps_known_pixels(handlers, examples):
    source = examples / "inpaint" / "astronaut.png"
    mask = str(examples / "masks" / "astronaut.png")
    result = handlers.inpaint(str(source), "telea", None, mask, str(examples / "clean" / "astronaut.png"))
    _check(result, 256, 256)
    hole = read_image(mask).pixels[..., 0] > 127
    before, after = read_image(source).pixels, _result(result[1])
    assert np.array_equal(after[~hole], before[~hole])
    assert not np.array_equal(after[hole], before[hole])
    assert "PSNR" in result[2]


def test_inpaint_handler_takes_the_painted_editor_layer(handlers, examples):
    layer = np.zeros((128, 128, 4), np.uint8)  # the editor showed a half-size preview
    layer[40:60, 40:90] = (255, 0, 255, 255)
    editor = {"background": None, "layers": [layer], "composite": None}
    result = handlers.inpaint(str(examples / "clean" / "astronaut.png"), "ns", editor, None)
    _check(result, 256, 256)
    hole = mask_from_editor(editor, 256, 256)
    assert hole[80:120, 80:180].all() and hole.sum() == 40 * 100
    with pytest.raises(gr.Error, match="Nothing to fill"):
        handlers.inpaint(str(examples / "clean" / "astronaut.png"), "ns", None, None)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_upscale_handler(handlers, examples, scale):
    result = handlers.upscale(str(examples / "upscale" / "rocket.png"), "bicubic", scale)
    _check(result, 48 * scale, 48 * scale)


def test_every_listed_method_is_accepted_and_paths_are_not(handlers, examples):
    for task in ("denoise", "deblur", "inpaint", "upscale"):
        assert handlers.restorer(task, available_methods(task)[0]).task == task
    with pytest.raises(gr.Error, match="Unknown method"):
        handlers.restorer("denoise", str(examples / "clean" / "camera.png"))
    with pytest.raises(gr.Error, match="Unknown method"):
        handlers.restorer("denoise", "model.safetensors")


def test_unreadable_uploads_give_readable_errors_without_server_paths(examples, tmp_path):
    strict = Handlers(AppConfig(max_upload_mb=0.1, max_pixels=100_000))
    (tmp_path / "fake.png").write_bytes(b"this is not a picture" * 20)
    (tmp_path / "notes.txt").write_text("hello")
    big = _copy(examples / "denoise" / "chelsea.png", tmp_path)  # 180 KB
    many = tmp_path / "many.png"
    cv2.imwrite(str(many), np.zeros((400, 400), np.uint8))  # tiny file, 0.16 MP
    cases = {
        str(tmp_path / "fake.png"): "fake.png is not a readable image",
        str(tmp_path / "notes.txt"): "notes.txt is not a supported file",
        big: r"chelsea.png is 0.2 MB; this server accepts files up to 0.1 MB",
        str(many): r"many.png has 0.16 MP; this server accepts images up to 0.1 MP",
        None: "Upload an image first",
    }
    for path, message in cases.items():
        with pytest.raises(gr.Error, match=message) as caught:
            strict.denoise(path, None, 25, True)
        assert str(tmp_path) not in caught.value.message
    small = _copy(examples / "upscale" / "rocket.png", tmp_path)
    with pytest.raises(
        gr.Error, match="rocket.png upscaled x4 has 0.0369 MP; this server accepts images up to 0.01 MP"
    ):
        Handlers(AppConfig(max_pixels=10_000)).upscale(small, None, 4)


def test_safe_member_name():
    assert safe_member_name("../../etc/passwd") == "etc/passwd"
    assert safe_member_name("/abs/photo.png") == "abs/photo.png"
    assert safe_member_name("C:\\Users\\x\\..\\photo.png") == "Users/x/photo.png"
    assert safe_member_name("a/./b/../c.png") == "a/b/c.png"
    assert safe_member_name("../..") is None


def test_batch_zip_is_safe_and_reports_bad_files(handlers, examples, tmp_path):
    archive = tmp_path / "photos.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(examples / "denoise" / "camera.png", "../../escaped.png")
        z.write(examples / "denoise" / "camera.png", "/absolute/camera.png")
        z.write(examples / "upscale" / "rocket.png", "sub/rocket.png")
        z.writestr("notes.txt", "not an image")
        z.writestr("broken.png", b"\x89PNG but not really")
        z.writestr("__MACOSX/._rocket.png", b"resource fork")
    loose = _copy(examples / "upscale" / "rocket.png", tmp_path / "loose", "single.png")
    zipped, report = handlers.batch([str(archive), loose], "denoise", "default", 25, True)
    with zipfile.ZipFile(zipped) as z:
        names = sorted(z.namelist())
        assert read_image_bytes(z.read("sub/rocket.png")).shape[:2] == (48, 48)
    assert names == ["absolute/camera.png", "errors.txt", "escaped.png", "single.png", "sub/rocket.png"]
    assert not (tmp_path.parent / "escaped.png").exists()
    assert "4 of 5 images restored" in _plain(report)
    assert "notes.txt: skipped, not an image" in report and "broken.png" in report
    assert str(tmp_path) not in report


def test_batch_inpaint_uses_mask_sidecars_and_upscale_scales(handlers, examples, tmp_path):
    folder = tmp_path / "in"
    image = _copy(examples / "inpaint" / "astronaut.png", folder)
    mask = _copy(examples / "masks" / "astronaut.png", folder, "astronaut_mask.png")
    lonely = _copy(examples / "upscale" / "rocket.png", folder)
    archive = tmp_path / "more.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(examples / "upscale" / "rocket.png", "x/small.png")
        z.writestr("x/small_mask.png", b"garbage")
    zipped, report = handlers.batch([image, mask, lonely, str(archive)], "inpaint", "telea")
    with zipfile.ZipFile(zipped) as z:
        assert "astronaut.png" in z.namelist() and "rocket.png" not in z.namelist()
    assert "rocket.png: no mask" in report
    assert "x/small.png: x/small_mask.png: not a readable mask image" in report
    assert "/tmp" not in report
    zipped, _ = handlers.batch([lonely], "upscale", "default", scale=3)
    with zipfile.ZipFile(zipped) as z:
        assert read_image_bytes(z.read("rocket.png")).shape[:2] == (144, 144)
    with pytest.raises(gr.Error, match="No image was restored"):
        handlers.batch([str(tmp_path / "in" / "astronaut_mask.png")], "inpaint", "telea")


# ----- against a running server ------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    demo = build_app(SERVER_CONFIG)
    serve(demo, SERVER_CONFIG, host="127.0.0.1", port=_free_port(), prevent_thread_lock=True)
    try:
        yield demo.local_url
    finally:
        demo.close()


def test_gradio_client_calls_every_endpoint(server, examples):
    from gradio_client import Client, handle_file

    client = Client(server, verbose=False)
    api = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {f"/{name}" for name in ENDPOINTS} <= set(api)
    ex = {k: handle_file(str(examples / k / v)) for k, v in [("denoise", "camera.png"), ("deblur", "coffee.png")]}
    calls = {
        "denoise": ({"image_file": ex["denoise"], "sigma_auto": False, "sigma_255": 25}, (256, 256)),
        "deblur": ({"image_file": ex["deblur"], "kernel_kind": "motion", "motion_length": 15}, (256, 256)),
        "inpaint": (
            {
                "image_file": handle_file(str(examples / "inpaint" / "astronaut.png")),
                "mask_file": handle_file(str(examples / "masks" / "astronaut.png")),
            },
            (256, 256),
        ),
        "upscale": ({"image_file": handle_file(str(examples / "upscale" / "rocket.png")), "scale": 2}, (96, 96)),
    }
    for name, (kwargs, size) in calls.items():
        (before, after), download, info = client.predict(**kwargs, api_name=f"/{name}")
        assert read_image(download).pixels.shape[:2] == size, name
        assert read_image(after).pixels.shape[:2] == size, name
        assert DONE.search(_plain(info))
    zipped, report = client.predict(
        files=[ex["denoise"], handle_file(str(examples / "upscale" / "rocket.png"))],
        task="upscale",
        scale=2,
        api_name="/batch",
    )
    with zipfile.ZipFile(zipped) as z:
        assert read_image_bytes(z.read("rocket.png")).shape[:2] == (96, 96)
        assert read_image_bytes(z.read("camera.png")).shape[:2] == (512, 512)
    assert "2 of 2 images restored" in _plain(report)


def test_gradio_client_errors_are_messages(server, examples, tmp_path):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    client = Client(server, verbose=False)
    (tmp_path / "fake.png").write_bytes(b"not a picture" * 10)
    with pytest.raises(AppError, match="fake.png is not a readable image"):
        client.predict(image_file=handle_file(str(tmp_path / "fake.png")), api_name="/denoise")


def test_server_paths_are_not_accepted_from_clients(server, examples, tmp_path):
    import httpx

    outside = tmp_path / "outside.png"
    shutil.copy(examples / "denoise" / "camera.png", outside)
    # Raw API calls naming server files (gradio_client would upload its own copy instead).
    for path in (outside, examples / "denoise" / "camera.png"):
        payload = {"data": [{"path": str(path), "meta": {"_type": "gradio.FileData"}}, "nlm", 25, True, None]}
        event = httpx.post(f"{server}gradio_api/call/denoise", json=payload).json()["event_id"]
        answer = httpx.get(f"{server}gradio_api/call/denoise/{event}", timeout=60).text
        assert answer.startswith("event: error") and "camera" not in answer and "Traceback" not in answer
    # And the handlers behind the page refuse them too, should a path get past Gradio.
    with pytest.raises(gr.Error, match="outside.png was not uploaded"):
        Handlers(uploads_only=True).denoise(str(outside))


# ----- in a browser --------------------------------------------------------------------------------

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None)
CHROMEDRIVER = shutil.which("chromedriver")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1360,900",
)


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip("headless browser test needs Debian's chromium and chromium-driver (apt-get install)")
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="restore-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    options.binary_location = CHROMIUM
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _wait(driver, condition, timeout: float = 30):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.2).until(condition)


def _open(driver, url: str):
    from selenium.webdriver.common.by import By

    driver.get(url)
    return _wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, "#denoise-input input[type=file]"))


def _toasts(driver) -> str:
    from selenium.webdriver.common.by import By

    return "\n".join(e.text for e in driver.find_elements(By.CSS_SELECTOR, ".toast-body"))


def test_browser_denoise_shows_the_result(server, browser, examples, tmp_path):
    from selenium.webdriver.common.by import By

    _open(browser, server).send_keys(str(examples / "denoise" / "camera.png"))
    _wait(browser, lambda d: "Estimated noise level" in d.find_element(By.TAG_NAME, "body").text)
    browser.find_element(By.ID, "denoise-run").click()
    info = _wait(
        browser,
        lambda d: (
            d.find_element(By.ID, "denoise-info").text
            if DONE.search(d.find_element(By.ID, "denoise-info").text)
            else None
        ),
    )
    assert info.startswith(available_methods("denoise")[0]) and "256x256" in info
    images = browser.find_elements(By.CSS_SELECTOR, "#denoise-slider img")
    assert len(images) >= 2 and all(img.get_property("naturalWidth") == 256 for img in images)
    assert "camera_denoise" in browser.find_element(By.ID, "denoise-download").text
    shot = tmp_path / "app.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    assert "Error" not in _toasts(browser)


def test_browser_shows_readable_errors(server, browser, examples, tmp_path):
    from selenium.webdriver.common.by import By

    fake = tmp_path / "fake.png"
    fake.write_bytes(b"not a picture" * 10)
    _open(browser, server).send_keys(str(fake))
    _wait(browser, lambda d: "fake.png is not a readable image" in _toasts(d))
    for button in browser.find_elements(By.CSS_SELECTOR, "#denoise-input button[aria-label=Clear]"):
        button.click()
    time.sleep(0.3)
    browser.find_element(By.CSS_SELECTOR, "#denoise-input input[type=file]").send_keys(
        str(examples / "denoise" / "chelsea.png")
    )
    _wait(browser, lambda d: "exceed the maximum allowed size" in _toasts(d))
    assert "Traceback" not in browser.find_element(By.TAG_NAME, "body").text

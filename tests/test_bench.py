import dataclasses
import os
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest
import torch

from restore import bench
from restore.cli import main
from restore.restorer import Degradation

PEERS = Path(__file__).resolve().parents[1].parent / "shared" / "benchdata" / "peers"


def test_bench_cli_writes_tables_and_the_x4_model_beats_bicubic(tmp_path, capsys):
    assert main(["bench", "--tasks", "upscale", "--limit", "1", "--skip", "lanczos", "--out", str(tmp_path)]) == 0
    assert {p.name for p in tmp_path.iterdir()} == {"results.md", "results.csv", "results.png"}
    rows = [line.split(",") for line in (tmp_path / "results.csv").read_text().splitlines()[1:]]
    x4 = {r[3]: float(r[4]) for r in rows if r[2] == "x4"}
    assert x4["restore-upscale-x4"] > x4["bicubic"] + 0.5
    table = (tmp_path / "results.md").read_text()
    assert "| upscale | examples | x4 | restore-upscale-x4 |" in table
    machine = table.split("\n\n", 1)[1]  # times compare only within one machine, so the table says which
    assert f"({torch.backends.cpu.get_cpu_capability()} kernels)" in machine
    assert f"{torch.get_num_threads()} torch thread(s)" in machine


def test_bench_rejects_a_missing_data_folder(tmp_path, capsys):
    assert main(["bench", "--data", str(tmp_path / "nope"), "--out", str(tmp_path)]) == 2
    assert "not a folder" in capsys.readouterr().err


@pytest.mark.skipif(not (PEERS / "opencv_dnn_superres").is_dir(), reason="peer graphs not present")
@pytest.mark.skipif(not bench.OPENCV_READS_TENSORFLOW, reason="this OpenCV has no TensorFlow importer (removed in 5.1)")
def test_opencv_sr_peer_runs_the_published_graph_and_beats_bicubic():
    cases = bench.upscale_cases(None, 2, 2)["examples"]
    fsrcnn = bench.OpenCVSRPeer(PEERS / "opencv_dnn_superres" / "FSRCNN_x2.pb", 2)
    bicubic = bench.load_method("upscale", "bicubic")
    with torch.inference_mode():
        assert bench.measure(fsrcnn, cases, 2, True)[0] > bench.measure(bicubic, cases, 2, True)[0] + 0.3


def test_sr_peers_are_left_out_with_a_note_when_opencv_cannot_read_them(tmp_path, monkeypatch, capsys):
    (tmp_path / "opencv_dnn_superres").mkdir()
    (tmp_path / "opencv_dnn_superres" / "FSRCNN_x2.pb").write_bytes(b"not read")
    monkeypatch.setattr(bench, "OPENCV_READS_TENSORFLOW", False)
    bench._warn_no_tensorflow_importer.cache_clear()  # the note is printed once per process
    methods = bench._methods("upscale", tmp_path, None, False, set(), 2)
    assert methods and not any(isinstance(m, bench.OpenCVSRPeer) for m in methods)
    assert "FSRCNN and ESPCN peers are left out" in capsys.readouterr().err


def _fake_sr_sets(root: Path) -> None:
    """A data root holding Set5 and Set14, one small crop each."""
    photo = cv2.imread(str(bench.EXAMPLES / "clean" / "chelsea.png"))[:48, :48]
    for name in ("Set5", "Set14"):
        (root / "sr" / name / "HR").mkdir(parents=True)
        cv2.imwrite(str(root / "sr" / name / "HR" / "crop.png"), photo)


def test_bench_runs_only_the_sets_asked_for(tmp_path):
    _fake_sr_sets(tmp_path)
    out = tmp_path / "out"
    args = ["bench", "--data", str(tmp_path), "--tasks", "upscale", "--sets", "Set14", "--skip", "lanczos"]
    assert main([*args, "--out", str(out)]) == 0
    assert {r.dataset for r in bench.read_rows(out / "results.csv")} == {"Set14"}


def test_bench_merge_replaces_only_the_rows_it_measured(tmp_path):
    _fake_sr_sets(tmp_path)
    out = tmp_path / "out"
    args = ["bench", "--data", str(tmp_path), "--tasks", "upscale", "--skip", "lanczos", "--out", str(out)]
    assert main([*args, "--sets", "Set14"]) == 0
    set14 = bench.read_rows(out / "results.csv")
    zeroed = [dataclasses.replace(r, psnr=0.0) for r in set14]
    bench.write_outputs(zeroed, out, "\nHow these were measured.\n")

    assert main([*args, "--sets", "Set5", "--merge"]) == 0
    merged = bench.read_rows(out / "results.csv")
    assert merged[: len(set14)] == zeroed
    assert {r.dataset for r in merged[len(set14) :]} == {"Set5"}

    assert main([*args, "--sets", "Set14", "--merge"]) == 0
    remeasured = bench.read_rows(out / "results.csv")
    assert [(r.dataset, r.setting, r.method, r.psnr) for r in remeasured[: len(set14)]] == [
        (r.dataset, r.setting, r.method, r.psnr) for r in set14
    ]
    assert remeasured[len(set14) :] == merged[len(set14) :]
    assert (out / "results.md").read_text().endswith("\n\nHow these were measured.\n")


def test_bench_rejects_an_unknown_set(tmp_path, capsys):
    assert main(["bench", "--sets", "Set13", "--out", str(tmp_path)]) == 2
    assert "unknown set(s) Set13" in capsys.readouterr().err


def test_bench_refuses_sets_that_are_not_in_the_data(tmp_path, capsys):
    assert main(["bench", "--tasks", "denoise", "--sets", "Set12", "--out", str(tmp_path)]) == 2
    assert "nothing to measure for --tasks denoise --sets Set12" in capsys.readouterr().err
    assert not (tmp_path / "results.md").exists()


def test_shipped_denoisers_run_blind_and_classical_ones_get_the_true_sigma(monkeypatch):
    given = {}

    def record(restorer, pixels, degradation, settings):
        given[restorer.name] = degradation.sigma
        return pixels

    monkeypatch.setattr(bench, "run_restorer", record)
    bench.run_benchmark(None, None, ["denoise"], 1, {"bm3d"}, lambda row: None)
    assert given["nlm"] == 25 / 255  # the last setting run is colour sigma 25
    shipped = [name for name in given if name.startswith("restore-denoise")]
    assert len(shipped) >= 3 and all(given[name] is None for name in shipped)


def test_times_leave_out_a_warm_up_pass(monkeypatch):
    calls = []

    def first_call_slow(restorer, pixels, degradation, settings):
        calls.append(pixels.shape)
        time.sleep(0.5 if len(calls) == 1 else 0.0)
        return pixels

    monkeypatch.setattr(bench, "run_restorer", first_call_slow)
    x = torch.rand(1, 1, 16, 16, dtype=torch.float64)
    cases = [bench.Case(f"c{i}", x, x, Degradation(sigma=0.1)) for i in range(3)]
    seconds_per_image = bench.measure(bench.load_method("denoise", "nlm"), cases)[2]
    assert len(calls) == 4 and seconds_per_image < 0.1


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="CPU affinity is Linux-only")
def test_pinning_binds_the_threads_started_afterwards(tmp_path):
    """BM3D starts its own threads; --cpus must bind them too."""
    script = (
        "import os, threading; from restore.bench import pin_to_cpus; "
        "cpu = min(os.sched_getaffinity(0)); pin_to_cpus([cpu]); seen = []; "
        "t = threading.Thread(target=lambda: seen.append(os.sched_getaffinity(0))); t.start(); t.join(); "
        "print(seen[0] == {cpu} and os.sched_getaffinity(0) == {cpu})"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_bench_refuses_cpus_it_may_not_use(tmp_path, capsys):
    assert main(["bench", "--cpus", "100000", "--out", str(tmp_path)]) == 2
    assert "--cpus 100000: choose from the allowed CPUs" in capsys.readouterr().err

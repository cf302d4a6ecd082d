from pathlib import Path

import cv2
import pytest
import torch

from restore import bench
from restore.cli import main

PEERS = Path(__file__).resolve().parents[1].parent / "shared" / "benchdata" / "peers"


def test_bench_cli_writes_tables_and_the_x4_model_beats_bicubic(tmp_path, capsys):
    assert main(["bench", "--tasks", "upscale", "--limit", "1", "--skip", "lanczos", "--out", str(tmp_path)]) == 0
    assert {p.name for p in tmp_path.iterdir()} == {"results.md", "results.csv", "results.png"}
    rows = [line.split(",") for line in (tmp_path / "results.csv").read_text().splitlines()[1:]]
    x4 = {r[3]: float(r[4]) for r in rows if r[2] == "x4"}
    assert x4["restore-upscale-x4"] > x4["bicubic"] + 0.5
    assert "| upscale | examples | x4 | restore-upscale-x4 |" in (tmp_path / "results.md").read_text()


def test_bench_rejects_a_missing_data_folder(tmp_path, capsys):
    assert main(["bench", "--data", str(tmp_path / "nope"), "--out", str(tmp_path)]) == 2
    assert "not a folder" in capsys.readouterr().err


@pytest.mark.skipif(not (PEERS / "opencv_dnn_superres").is_dir(), reason="peer graphs not present")
def test_opencv_sr_peer_runs_the_published_graph_and_beats_bicubic():
    cases = bench.upscale_cases(None, 2, 2)["examples"]
    fsrcnn = bench.OpenCVSRPeer(PEERS / "opencv_dnn_superres" / "FSRCNN_x2.pb", 2)
    bicubic = bench.load_method("upscale", "bicubic")
    with torch.inference_mode():
        assert bench.measure(fsrcnn, cases, 2, True)[0] > bench.measure(bicubic, cases, 2, True)[0] + 0.3


def test_bench_runs_only_the_sets_asked_for(tmp_path):
    photo = cv2.imread(str(bench.EXAMPLES / "clean" / "chelsea.png"))[:48, :48]
    for name in ("Set5", "Set14"):
        (tmp_path / "sr" / name / "HR").mkdir(parents=True)
        cv2.imwrite(str(tmp_path / "sr" / name / "HR" / "crop.png"), photo)
    out = tmp_path / "out"
    args = ["bench", "--data", str(tmp_path), "--tasks", "upscale", "--sets", "Set14", "--skip", "lanczos"]
    assert main([*args, "--out", str(out)]) == 0
    datasets = {line.split(",")[1] for line in (out / "results.csv").read_text().splitlines()[1:]}
    assert datasets == {"Set14"}


def test_bench_rejects_an_unknown_set(tmp_path, capsys):
    assert main(["bench", "--sets", "Set13", "--out", str(tmp_path)]) == 2
    assert "unknown set(s) Set13" in capsys.readouterr().err

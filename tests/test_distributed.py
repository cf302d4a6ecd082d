"""DDP with two CPU processes (gloo) takes the same first step as one process with the combined batch."""

import os

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from restore.train.loop import Trainer

from .test_train import tiny_config


def _worker(rank: int, world: int, init_file: str, data_dir: str, out_dir: str, result_file: str) -> None:
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        cfg = tiny_config("upscale", data_dir, out_dir)  # upscale: synthesis has no randomness
        cfg.optim.steps, cfg.optim.grad_clip, cfg.run.val_every = 1, 0.0, 100
        trainer = Trainer(cfg)
        trainer.fit(progress=False)
        if rank == 0:
            torch.save(trainer.model.state_dict(), result_file)
    finally:
        dist.destroy_process_group()


def test_two_process_ddp_matches_one_process_with_the_combined_batch(tmp_path):
    from importlib import resources
    from pathlib import Path

    data_dir = str(Path(str(resources.files("restore") / "examples" / "clean")))
    result = tmp_path / "ddp.pt"
    mp.spawn(
        _worker,
        args=(2, str(tmp_path / "init"), data_dir, str(tmp_path / "ddp"), str(result)),
        nprocs=2,
        join=True,
    )
    cfg = tiny_config("upscale", data_dir, tmp_path / "single", batch_size=8)
    cfg.optim.steps, cfg.optim.grad_clip, cfg.run.val_every = 1, 0.0, 100
    single = Trainer(cfg)
    initial = {k: v.clone() for k, v in single.model.state_dict().items()}
    single.fit(progress=False)
    ddp_state = torch.load(result)
    moved = 0
    for name, value in single.model.state_dict().items():
        assert torch.allclose(ddp_state[name], value, atol=1e-6), name
        moved += int(not torch.equal(value, initial[name]))
    assert moved > 0  # the step did change the weights

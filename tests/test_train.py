import shutil

import pytest
import torch
from restore.train.config import ConfigError, config_from_dict, load_config
from restore.train.data import synthesize
from restore.train.export import export_run
from restore.train.loop import Trainer
from safetensors.torch import load_file

from restore.cli import main as cli_main
from restore.io import read_image

TINY = {
    "denoise": (
        "nafnet_denoiser_small",
        {"in_channels": 3, "width": 8, "enc_blocks": [1], "dec_blocks": [1], "middle_blocks": 1},
    ),
    "deblur": ("wiener_deconv", {"feature_channels": 4, "widths": [8, 16], "blocks": 1}),
    # LaMa's own zero fill: a net this small barely improves on the preset's Telea fill
    "inpaint": (
        "lama_lite",
        {"base_channels": 8, "n_downsampling": 1, "n_blocks": 1, "hole_fill": "zeros", "out_activation": "sigmoid"},
    ),
    "upscale": ("sr_x2", {"channels": 8, "n_blocks": 1}),
}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, examples_dir=None):
    from importlib import resources
    from pathlib import Path

    clean = Path(str(resources.files("restore") / "examples" / "clean"))
    folder = tmp_path_factory.mktemp("train_images")
    for p in clean.glob("*.png"):
        shutil.copy(p, folder / p.name)
    return folder


def tiny_config(task, data_dir, out_dir, **data):
    name, args = TINY[task]
    return config_from_dict(
        {
            "task": task,
            "data": {
                "train_dirs": [str(data_dir)],
                "val_holdout": 1,
                "val_size": 64,
                "patch_size": 48,
                "batch_size": 4,
                "sigma_min": 5,
                "sigma_max": 30,
                "blur_kernel_size": 9,
                "scale": 2,
                **data,
            },
            "model": {"name": name, "args": args},
            "loss": {"l1": 1.0},
            "optim": {"lr": 3e-3, "warmup_steps": 3, "steps": 40, "ema_decay": 0.9},
            "run": {"out_dir": str(out_dir), "val_every": 40, "checkpoint_every": 20, "log_every": 10, "seed": 1},
        }
    )


@torch.no_grad()
def fixed_batch_loss(trainer: Trainer) -> float:
    """L1 loss of the current weights on one fixed, seeded batch of training patches."""
    x = torch.stack([trainer.dataset[i] for i in range(8)])
    sample = synthesize(trainer.cfg.task, x, trainer.cfg.data, torch.Generator().manual_seed(123))
    return float((trainer._forward(trainer.model, trainer._to_device(sample)) - sample.x).abs().mean())


@pytest.mark.parametrize("task", ["denoise", "deblur", "inpaint", "upscale"])
def test_tiny_run_lowers_the_loss_and_exports_a_usable_model(task, data_dir, tmp_path, examples):
    cfg = tiny_config(task, data_dir, tmp_path / "run")
    # upscale starts as exact bicubic (zero-initialised upsampler): it needs more steps to move
    from_classical = task == "upscale"
    if from_classical:
        cfg.optim.steps = cfg.run.val_every = cfg.run.checkpoint_every = 160
    trainer = Trainer(cfg)
    before = fixed_batch_loss(trainer)
    result = trainer.fit(progress=False)
    assert result.step == cfg.optim.steps and result.best_psnr is not None
    assert fixed_batch_loss(trainer) < (0.99 if from_classical else 0.9) * before
    assert (tmp_path / "run" / "last.pt").is_file() and (tmp_path / "run" / "config.yaml").is_file()
    assert result.best_psnr is not None
    weights = tmp_path / f"{task}.safetensors"
    card = export_run(tmp_path / "run", weights)
    assert "Reproduce" in card.read_text()
    inputs = {
        "denoise": ["--sigma", "15"],
        "deblur": ["--kernel", str(examples / "kernels" / "coffee.npy")],
        "inpaint": ["--mask", str(examples / "masks")],
        "upscale": ["--scale", "2"],
    }[task]
    out = tmp_path / "out"
    code = cli_main([task, str(examples / task), "-o", str(out), "--method", str(weights), "-q", *inputs])
    assert code == 0
    restored = next(out.iterdir())
    src = read_image(next((examples / task).iterdir()))
    factor = 2 if task == "upscale" else 1
    assert read_image(restored).pixels.shape[:2] == (src.height * factor, src.width * factor)


def test_validate_scores_an_exported_model_as_its_run_did(data_dir, tmp_path, capsys):
    import yaml

    cfg = tiny_config("denoise", data_dir, tmp_path / "run")
    cfg.optim.steps, cfg.run.val_every = 6, 3
    best = Trainer(cfg).fit(progress=False).best_psnr
    weights = tmp_path / "run.safetensors"
    export_run(tmp_path / "run", weights)
    config = tmp_path / "run.yaml"
    config.write_text((tmp_path / "run" / "config.yaml").read_text())
    capsys.readouterr()
    assert cli_main(["train", str(config), "--validate", str(weights)]) == 0
    assert f"validation PSNR {best:.4f} dB" in capsys.readouterr().out
    assert cli_main(["train", str(config), "--validate", "no-such-model"]) == 2
    values = yaml.safe_load(config.read_text())
    values["data"]["val_holdout"] = 0
    config.write_text(yaml.safe_dump(values))
    assert cli_main(["train", str(config), "--validate", str(weights)]) == 2
    assert "holds out no validation images" in capsys.readouterr().err


def test_finetune_starts_from_an_exported_model(data_dir, tmp_path, capsys):
    import yaml

    base = tiny_config("denoise", data_dir, tmp_path / "base")
    base.optim.steps = 5
    Trainer(base).fit(progress=False)
    weights = tmp_path / "base.safetensors"
    export_run(tmp_path / "base", weights)
    config = tmp_path / "ft.yaml"
    values = yaml.safe_load((tmp_path / "base" / "config.yaml").read_text())
    values["model"] = {"name": "nafnet_denoiser_small", "args": {}}  # replaced by the checkpoint's
    values["run"]["out_dir"] = str(tmp_path / "ft")
    config.write_text(yaml.safe_dump(values))
    assert cli_main(["train", str(config), "--finetune", str(weights), "--max-steps", "2", "-q"]) == 0
    tuned = yaml.safe_load((tmp_path / "ft" / "config.yaml").read_text())
    assert tuned["optim"]["lr"] == pytest.approx(base.optim.lr / 10)
    assert tuned["model"]["args"]["width"] == 8 and tuned["run"]["init_from"] == str(weights)
    assert cli_main(["train", str(config), "--finetune", "no-such-model", "-q"]) == 2
    # a model setting that --finetune would drop is refused; run.init_matching=true grows the model instead
    grown = tmp_path / "grown.yaml"
    grown.write_text((tmp_path / "base" / "config.yaml").read_text())
    deeper = ["--set", "model.args.middle_blocks=2", "--set", f"run.out_dir={tmp_path / 'g'}", "--max-steps=1", "-q"]
    assert cli_main(["train", str(grown), "--finetune", str(weights), *deeper]) == 2
    assert "run.init_matching=true" in capsys.readouterr().err
    assert cli_main(["train", str(grown), "--finetune", str(weights), *deeper, "--set", "run.init_matching=true"]) == 0
    assert yaml.safe_load((tmp_path / "g" / "config.yaml").read_text())["model"]["args"]["middle_blocks"] == 2
    # --validate scores the file as it is, whatever model the config names
    assert cli_main(["train", str(grown), "--validate", str(weights), "--set", "model.args.width=16"]) == 0


def test_init_matching_moves_an_x2_body_into_an_x3_model(data_dir, tmp_path):
    base = tiny_config("upscale", data_dir, tmp_path / "x2")
    base.optim.steps = 3
    Trainer(base).fit(progress=False)
    export_run(tmp_path / "x2", tmp_path / "x2.safetensors")
    cfg = tiny_config("upscale", data_dir, tmp_path / "x3", scale=3)
    cfg.model.name, cfg.run.init_from, cfg.run.init_matching = "sr_x3", str(tmp_path / "x2.safetensors"), True
    trainer = Trainer(cfg)
    source = load_file(tmp_path / "x2.safetensors")
    target = trainer.model.state_dict()
    skipped = sorted(set(target) - set(trainer.transferred))
    assert skipped and all(k.startswith("upsample") for k in skipped)
    assert all(torch.equal(target[k], source[k]) for k in trainer.transferred)
    assert trainer.fit(progress=False, max_steps=2).step == 2


def test_init_matching_puts_a_denoiser_inside_the_unrolled_deblurrer(data_dir, tmp_path):
    base = tiny_config("denoise", data_dir, tmp_path / "denoiser", channels=1)
    base.model.args, base.optim.steps = {**TINY["denoise"][1], "in_channels": 1}, 2
    Trainer(base).fit(progress=False)
    export_run(tmp_path / "denoiser", tmp_path / "denoiser.safetensors")
    cfg = tiny_config("deblur", data_dir, tmp_path / "hqs", channels=1)
    cfg.model.name, cfg.model.args = "hqs_unrolled", {**TINY["denoise"][1], "in_channels": 1, "iterations": 2}
    cfg.run.init_from, cfg.run.init_matching = str(tmp_path / "denoiser.safetensors"), True
    trainer = Trainer(cfg)
    source = load_file(tmp_path / "denoiser.safetensors")
    target = trainer.model.state_dict()
    assert sorted(set(target) - set(trainer.transferred)) == ["log_weights"]
    assert all(torch.equal(target[k], source[k.removeprefix("denoiser.")]) for k in trainer.transferred)
    assert trainer.fit(progress=False, max_steps=2).step == 2


def test_init_matching_grows_a_denoiser_without_changing_what_it_computes(data_dir, tmp_path):
    """Deeper bottleneck from a trained denoiser: added NAF blocks start as the identity."""
    from restore.learned import load_model

    base = tiny_config("denoise", data_dir, tmp_path / "base")
    base.optim.steps = 4
    Trainer(base).fit(progress=False)
    export_run(tmp_path / "base", tmp_path / "base.safetensors")
    cfg = tiny_config("denoise", data_dir, tmp_path / "grown")
    cfg.model.args = {**TINY["denoise"][1], "middle_blocks": 3}
    cfg.run.init_from, cfg.run.init_matching = str(tmp_path / "base.safetensors"), True
    trainer = Trainer(cfg)
    added = sorted({k.split(".")[1] for k in set(trainer.model.state_dict()) - set(trainer.transferred)})
    assert added == ["1", "2"]  # middle.1 and middle.2; everything else came from the base model
    source, _ = load_model(tmp_path / "base.safetensors")
    y = torch.rand(2, 3, 37, 53)
    with torch.no_grad():
        assert not torch.equal(source(y, 0.1), y)
        torch.testing.assert_close(trainer.model(y, 0.1), source(y, 0.1))
    assert trainer.fit(progress=False, max_steps=2).step == 2


def test_adversarial_inpainting_step_and_uncached_data(data_dir, tmp_path):
    cfg = tiny_config("inpaint", data_dir, tmp_path / "gan", cache=False)
    cfg.loss.adversarial, cfg.loss.feature_matching, cfg.loss.r1 = 0.1, 1.0, 1.0
    cfg.optim.steps, cfg.run.log_every = 4, 1
    trainer = Trainer(cfg)
    d_before = [p.detach().clone() for p in trainer.discriminator.parameters()]
    trainer.fit(progress=False)
    assert any(not torch.equal(a, b) for a, b in zip(d_before, trainer.discriminator.parameters(), strict=True))
    import csv

    rows = list(csv.DictReader((tmp_path / "gan" / "log.csv").open()))
    assert all(float(r["d_loss"]) > 0 and float(r["adversarial"]) > 0 for r in rows)
    assert float(rows[-1]["feature_matching"]) >= 0
    assert cli_main(["train", "--plot", str(tmp_path / "gan")]) == 0
    assert (tmp_path / "gan" / "curves.png").stat().st_size > 1000


def test_resume_is_bit_exact(data_dir, tmp_path):
    straight = Trainer(tiny_config("denoise", data_dir, tmp_path / "a"))
    straight.fit(progress=False, max_steps=24)
    interrupted = Trainer(tiny_config("denoise", data_dir, tmp_path / "b"))
    interrupted.fit(progress=False, max_steps=20)  # checkpoint at 20 is the last one written
    resumed = Trainer(tiny_config("denoise", data_dir, tmp_path / "b"))
    resumed.fit(progress=False, max_steps=24)
    assert resumed.step == 24
    for (name, a), b in zip(straight.model.state_dict().items(), resumed.model.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    for a, b in zip(straight.ema.state_dict().values(), resumed.ema.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_config_errors_are_clear(tmp_path, data_dir):
    with pytest.raises(ConfigError, match="unknown key.*data.patchsize"):
        config_from_dict({"data": {"patchsize": 3}})
    with pytest.raises(ConfigError, match="optim.lr: expected float"):
        config_from_dict({"optim": {"lr": "fast"}})
    with pytest.raises(ConfigError, match="task: must be one of"):
        config_from_dict({"task": "colorize"})
    (tmp_path / "c.yaml").write_text("task: denoise\noptim: {steps: 10}\n")
    cfg = load_config(tmp_path / "c.yaml", ["optim.lr=5e-4", "data.channels=1", "run.channels_last=false"])
    assert cfg.optim.lr == 5e-4 and cfg.data.channels == 1 and cfg.run.channels_last is False
    (tmp_path / "m.yaml").write_text("model: {args: {norm: 'off'}}\n")
    cfg = load_config(tmp_path / "m.yaml", ["model.args.iterations=6", "model.args.enc_blocks=[1, 2]"])
    assert cfg.model.args == {"norm": "off", "iterations": 6, "enc_blocks": [1, 2]}
    with pytest.raises(ConfigError, match="model.args.x=.1, 2.: not a YAML value"):
        load_config(None, ["model.args.x=[1, 2"])
    with pytest.raises(ConfigError, match="data folder .*missing does not exist"):
        Trainer(tiny_config("denoise", tmp_path / "missing", tmp_path / "r"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="holds no images"):
        Trainer(tiny_config("denoise", tmp_path / "empty", tmp_path / "r"))
    assert cli_main(["train", str(tmp_path / "c.yaml"), "--set", "loss.l3=1"]) == 2


def test_shipped_configs_parse():
    from importlib import resources
    from pathlib import Path

    configs = sorted(Path(str(resources.files("restore.train") / "configs")).glob("*.yaml"))
    assert configs
    for path in configs:
        load_config(path)


def test_shipped_configs_build_their_shipped_models_and_load_all_of_their_init_models():
    """Each config in train/configs makes the architecture its shipped model records, and a config that
    starts from a shipped model takes all of that model's tensors (a config that drifted from a grown
    model's blocks would silently start the missing blocks from scratch)."""
    from importlib import resources
    from pathlib import Path

    from restore.models.registry import build_model, model_spec
    from restore.train.loop import load_matching

    from restore.learned import load_model
    from restore.pretrained import PRETRAINED, weights_file

    def plain(value):
        return list(value) if isinstance(value, tuple) else value

    for path in sorted(Path(str(resources.files("restore.train") / "configs")).glob("*.yaml")):
        cfg = load_config(path)
        shipped = PRETRAINED["restore-" + path.stem.replace("_", "-")]
        model = build_model(cfg.model.name, **cfg.model.args)
        args = model_spec(model)[1]
        assert cfg.model.name == shipped.architecture, path.name
        # an unrolled solver's iteration count is a stage of its schedule (deblur_hqs_gray.yaml is stage 1 of 4)
        expected = {k: v for k, v in shipped.args.items() if k != "iterations"}
        assert {k: plain(args[k]) for k in expected} == expected, path.name
        if cfg.run.init_from in PRETRAINED and cfg.run.init_matching:
            source = load_model(weights_file(cfg.run.init_from))[0].state_dict()
            loaded = load_matching(model, source)
            # all of it, but for tensors whose shape the task changes (an x4 upsampler under x2)
            own = model.state_dict()
            reshaped = [k for k in source if k in own and own[k].shape != source[k].shape]
            assert len(loaded) + len(reshaped) == len(source), path.name


def test_r2r_from_noisy_images_only_nears_supervised_training(data_dir, tmp_path):
    def run(out, **changes):
        cfg = tiny_config(
            "denoise", data_dir, out, sigma_min=25, sigma_max=25, fixed_noise_sigma=25, patch_size=40, batch_size=8
        )
        cfg.optim.steps, cfg.optim.lr, cfg.run.val_every, cfg.run.checkpoint_every = 300, 4e-3, 300, 300
        cfg.optim.ema_decay = 0.95
        for key, value in changes.items():
            section, name = key.split("__")
            setattr(getattr(cfg, section), name, value)
        trainer = Trainer(cfg)
        trainer.fit(progress=False)
        return trainer.validate()["val_psnr"]

    # both see the same fixed noisy realisation of the training images; only one sees the clean ones
    supervised = run(tmp_path / "sup", data__mode="noisy", loss__l1=0.0, loss__mse=1.0)
    self_supervised = run(tmp_path / "r2r", data__mode="noisy", loss__l1=0.0, loss__r2r=1.0)
    assert supervised > 24  # the noisy inputs are at about 20 dB
    assert self_supervised > supervised - 0.5, (self_supervised, supervised)


def test_paired_folders(data_dir, tmp_path):
    degraded = tmp_path / "lr"
    assert cli_main(["degrade", str(data_dir), "-o", str(degraded), "--downscale", "2"]) == 0
    cfg = tiny_config("upscale", data_dir, tmp_path / "run", mode="paired", degraded_dir=str(degraded))
    cfg.optim.steps = 20
    trainer = Trainer(cfg)
    x, y = trainer.dataset[0]
    assert x.shape[-1] == 2 * y.shape[-1]
    assert trainer.fit(progress=False).step == 20
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no degraded image named"):
        Trainer(tiny_config("upscale", data_dir, tmp_path / "r2", mode="paired", degraded_dir=str(tmp_path / "empty")))


def test_gray_fraction_makes_gray_samples_with_shared_noise():
    from restore.train.config import DataConfig

    cfg = DataConfig(gray_fraction=1.0, sigma_min=20, sigma_max=20, noise="gaussian")
    x = torch.rand(4, 3, 16, 16)
    sample = synthesize("denoise", x, cfg, torch.Generator().manual_seed(0))
    assert torch.allclose(sample.x[:, 0], sample.x[:, 2]) and torch.allclose(sample.y[:, 0], sample.y[:, 1])
    noise = sample.y - sample.x
    assert 0.06 < float(noise.std()) < 0.1
    cfg.gray_fraction = 0.0
    colour = synthesize("denoise", x, cfg, torch.Generator().manual_seed(0))
    assert not torch.allclose(colour.y[:, 0] - colour.x[:, 0], colour.y[:, 1] - colour.x[:, 1])


def test_centre_crop_takes_the_middle_at_most_size_and_a_multiple():
    import numpy as np
    from restore.train.data import centre_crop

    image = np.arange(3 * 300 * 90, dtype=np.float32).reshape(3, 300, 90)
    crop = centre_crop(image, 256, 8)
    assert crop.shape == (1, 3, 256, 88)
    assert torch.equal(crop[0], torch.from_numpy(image[:, 22:278, 1:89]))

from importlib import resources
from pathlib import Path

import pytest
import torch

from restore.io import read_image

EXAMPLES = Path(str(resources.files("restore") / "examples"))


@pytest.fixture(autouse=True)
def _few_threads():
    torch.set_num_threads(1)  # small tensors: thread sync costs more than it gains on 2 cores


def clean_example(name: str) -> torch.Tensor:
    return read_image(EXAMPLES / "clean" / f"{name}.png").to_tensor()


@pytest.fixture
def examples() -> Path:
    return EXAMPLES

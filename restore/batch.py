"""Batch processing of many files: input discovery, safe output naming, per-file errors, report.

Rules: inputs are never written (an output that would land on an input is renamed
``<stem>_<task><ext>``), outputs are written atomically, an existing output is kept unless
``--overwrite`` (or skipped with ``--skip-existing``), and one bad file never stops the batch.
"""

from __future__ import annotations

import glob
import os
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from tqdm import tqdm

from .engine import EngineSettings
from .io import IMAGE_SUFFIXES, ImageError, read_image, write_image
from .kernels import load_kernel
from .masks import load_mask
from .pipeline import restore_image
from .restorer import Degradation, Restorer


@dataclass
class InputSet:
    """Files to process, each with the relative path its output keeps."""

    files: list[tuple[Path, Path]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def collect_inputs(patterns: list[str], exclude: Path | None = None) -> InputSet:
    """Expand files, folders (recursively) and glob patterns; ``exclude`` (the output folder) is skipped."""
    found = InputSet()
    seen: set[Path] = set()

    def add(path: Path, relative: Path) -> None:
        key = path.resolve()
        if key in seen:
            return
        seen.add(key)
        found.files.append((path, relative))

    for pattern in patterns:
        path = Path(pattern)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and _is_image(child):
                    if exclude is not None and exclude.resolve() != path.resolve() and _inside(child, exclude):
                        continue
                    add(child, child.relative_to(path))
        elif path.exists():
            add(path, Path(path.name))
        else:
            matches = sorted(Path(m) for m in glob.glob(pattern, recursive=True))
            matches = [m for m in matches if m.is_file() and _is_image(m)]
            if not matches:
                found.missing.append(pattern)
            for m in matches:
                add(m, Path(m.name))
    return found


@dataclass
class BatchOptions:
    output: Path
    suffix: str | None = None
    skip_existing: bool = False
    overwrite: bool = False
    mask: Path | None = None
    kernel: Path | None = None
    settings: EngineSettings = field(default_factory=EngineSettings)
    progress: bool = True


@dataclass
class FileResult:
    input: str
    output: str | None
    status: str  # "done", "skipped" or "failed"
    error: str | None = None
    seconds: float = 0.0
    sigma_255: float | None = None


@dataclass
class BatchReport:
    method: str
    task: str
    results: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def failed(self) -> int:
        return self.count("failed")

    def summary(self) -> str:
        return (
            f"{self.task} with {self.method}: {self.count('done')} done, {self.count('skipped')} skipped, "
            f"{self.failed} failed, {self.seconds:.1f} s"
        )

    def as_dict(self) -> dict:
        return {
            "task": self.task,
            "method": self.method,
            "done": self.count("done"),
            "skipped": self.count("skipped"),
            "failed": self.failed,
            "seconds": round(self.seconds, 3),
            "files": [asdict(r) for r in self.results],
        }


KERNEL_SUFFIXES = (".npy", ".txt", ".csv", *IMAGE_SUFFIXES)


def find_sidecar(location: Path, image_relative: Path, kind: str, suffixes: tuple[str, ...]) -> Path:
    """The mask or kernel for an image: ``location`` itself if a file, else a same-named file in it.

    In a folder, ``<stem>.<ext>`` and ``<stem>_<kind>.<ext>`` are tried, in the image's
    relative subfolder first.
    """
    if location.is_file():
        return location
    stem = image_relative.stem
    for folder in (location / image_relative.parent, location):
        for name in (stem, f"{stem}_{kind}"):
            for suffix in suffixes:
                candidate = folder / f"{name}{suffix}"
                if candidate.is_file():
                    return candidate
    raise ValueError(f"no {kind} named {stem}.* or {stem}_{kind}.* in {location}")


def output_path(source: Path, relative: Path, options: BatchOptions, task: str) -> Path:
    suffix = options.suffix or source.suffix.lower()
    target = options.output / relative.with_suffix(suffix)
    if target.resolve() == source.resolve() or (target.exists() and os.path.samefile(target, source)):
        target = target.with_name(f"{target.stem}_{task}{suffix}")
    return target


def run_batch(inputs: InputSet, restorer: Restorer, degradation: Degradation, options: BatchOptions) -> BatchReport:
    report = BatchReport(method=restorer.name, task=restorer.task)
    start = time.perf_counter()
    for pattern in inputs.missing:
        report.results.append(FileResult(pattern, None, "failed", f"{pattern}: no such file or matching image"))
    bar = tqdm(inputs.files, unit="image", disable=not options.progress, dynamic_ncols=True)
    for source, relative in bar:
        bar.set_postfix_str(str(relative)[-40:])
        target = output_path(source, relative, options, restorer.task)
        if target.exists() and not options.overwrite:
            if options.skip_existing:
                report.results.append(FileResult(str(source), str(target), "skipped"))
                continue
            message = f"{target}: output exists (use --overwrite or --skip-existing)"
            report.results.append(FileResult(str(source), str(target), "failed", message))
        else:
            report.results.append(_restore_one(source, relative, target, restorer, degradation, options))
        if report.results[-1].status == "failed":
            tqdm.write(f"error: {report.results[-1].error}", file=sys.stderr)
    report.seconds = time.perf_counter() - start
    return report


def _restore_one(
    source: Path, relative: Path, target: Path, restorer: Restorer, degradation: Degradation, options: BatchOptions
) -> FileResult:
    t0 = time.perf_counter()
    try:
        image = read_image(source)
        job = degradation
        if options.mask is not None:
            job = replace(job, mask=load_mask(find_sidecar(options.mask, relative, "mask", IMAGE_SUFFIXES)))
        if options.kernel is not None:
            job = replace(job, psf=load_kernel(find_sidecar(options.kernel, relative, "kernel", KERNEL_SUFFIXES)))
        restored, used = restore_image(image, restorer, job, options.settings)
        write_image(target, restored)
    except ImageError as error:
        return FileResult(str(source), None, "failed", str(error), time.perf_counter() - t0)
    except (ValueError, RuntimeError, MemoryError) as error:
        return FileResult(str(source), None, "failed", f"{source}: {error}", time.perf_counter() - t0)
    sigma = None if used.sigma is None else round(used.sigma * 255, 2)
    return FileResult(str(source), str(target), "done", None, time.perf_counter() - t0, sigma)

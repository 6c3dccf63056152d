"""Containers against loose files (issue 13): the same files, built from a tar and loose.

Two comparisons on the demo experiment's gzip JSON files (8 nodes):

- the ``.json.gz`` files in one plain tar, against the same files loose
  (goal: the tar at >= 0.95 of the loose files' speed);
- the JSON files uncompressed in one ``tar.gz``, against the same files
  gzipped one by one (goal: within 5 %).

Builds alternate between the two forms, best of ``repeat``; peak memory is
that of the build and its worker together. Run alone:
``python -m warehouse.bench.containers --runs 5000``.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import shutil
import tarfile
from pathlib import Path
from typing import Any

from .measure import generate, timed_build


def _tar(folder: Path, target: Path, mode: str, transform: Any = None) -> Path:
    """``folder``'s node folders in one tar (``transform`` maps a file's bytes and name)."""
    with tarfile.open(target, mode) as tar:  # type: ignore[call-overload]
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            name = str(path.relative_to(folder))
            if transform is None:
                tar.add(path, name)
            else:
                name, data = transform(name, path)
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return target


def _gunzipped(name: str, path: Path) -> tuple[str, bytes]:
    return name.removesuffix(".gz"), gzip.decompress(path.read_bytes())


def inputs(workdir: Path, runs: int) -> dict[str, Path]:
    """The loose gzip files, and the two tars (each alone in a folder, named for its node)."""
    raw = generate(workdir / "json", runs)
    forms = {"loose": raw}
    marker = workdir / f"tars-of-{runs}"  # tars of as many runs as the loose files
    for name, mode, transform in (("tar", "w", None), ("tgz", "w:gz", _gunzipped)):
        folder = workdir / name
        if not marker.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            _tar(raw, folder / f"nodes.{'tar' if name == 'tar' else 'tar.gz'}", mode, transform)
        forms[name] = folder
    for old in workdir.glob("tars-of-*"):
        old.unlink()
    marker.touch()
    return forms


def bench_containers(workdir: Path, runs: int, repeat: int = 2) -> dict[str, Any]:
    forms = inputs(workdir, runs)
    best: dict[str, dict[str, Any]] = {}
    for _ in range(repeat):
        for name, folder in forms.items():
            result = timed_build(workdir / f"{name}.sqlite", folder)
            if name not in best or result["seconds"] < best[name]["seconds"]:
                best[name] = result
    stored = {name: result["runs"] for name, result in best.items()}
    if set(stored.values()) != {runs}:
        raise SystemExit(f"the builds stored other runs than the {runs} generated: {stored}")
    loose = best["loose"]["seconds"]
    return {
        "runs": runs,
        "seconds": {name: round(result["seconds"], 2) for name, result in best.items()},
        "peak_rss_all_mb": {name: round(r["peak_rss_all_mb"]) for name, r in best.items()},
        # speed of the container over the speed of the loose files (goals: >= 0.95, >= 0.95)
        "tar_of_gz_files_vs_loose": round(loose / best["tar"]["seconds"], 3),
        "tar_gz_vs_gz_files": round(loose / best["tgz"]["seconds"], 3),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m warehouse.bench.containers",
                                     description=__doc__)
    parser.add_argument("--runs", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=Path("bench-out/containers"))
    args = parser.parse_args(argv)
    print(json.dumps(bench_containers(args.workdir, args.runs, args.repeat)))


if __name__ == "__main__":
    main()

"""The zip check of ``make package`` refuses binaries built from source (issue 10, item 3)."""

from __future__ import annotations

import zipfile
from pathlib import Path

from devstack.lambda_package import check_runtime, check_wheels


def _zip(tmp_path: Path, files: dict[str, str]) -> str:
    path = tmp_path / "deployment.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return str(path)


def _dist(name: str, tag: str, so: str | None = None) -> dict[str, str]:
    files = {f"{name}.dist-info/WHEEL": f"Wheel-Version: 1.0\nTag: {tag}\n"}
    record = f"{name}/__init__.py,,\n"
    files[f"{name}/__init__.py"] = ""
    if so:
        files[so] = "ELF"
        record += f"{so},,\n"
    files[f"{name}.dist-info/RECORD"] = record
    return files


def test_manylinux_and_pure_wheels_pass(tmp_path: Path) -> None:
    files = {
        **_dist(
            "pillow-13.0.0",
            "cp312-cp312-manylinux_2_27_x86_64.manylinux_2_28_x86_64",
            "PIL/_imaging.cpython-312-x86_64-linux-gnu.so",
        ),
        **_dist("zxcvbn-4.5.0", "py3-none-any"),
        **_dist("cryptography-46", "cp311-abi3-manylinux2014_x86_64", "cryptography/_rust.abi3.so"),
    }
    assert check_wheels(_zip(tmp_path, files)) == 0


def test_a_wheel_built_from_source_fails(tmp_path: Path) -> None:
    files = _dist("pillow-13.0.0", "cp311-cp311-linux_x86_64", "PIL/_imaging.so")
    assert check_wheels(_zip(tmp_path, files)) == 1


def test_a_binary_no_wheel_owns_fails(tmp_path: Path) -> None:
    files = {**_dist("zxcvbn-4.5.0", "py3-none-any"), "stray/_speedups.so": "ELF"}
    assert check_wheels(_zip(tmp_path, files)) == 1


def test_every_function_must_run_on_the_configured_runtime(tmp_path: Path) -> None:
    sam = tmp_path / "sam.yaml"
    sam.write_text(
        "Resources:\n  A:\n    Properties:\n      Runtime: python3.12\n"
        "    Type: AWS::Serverless::Function\n  B:\n    Properties:\n"
        "      Runtime: python3.11\n    Type: AWS::Serverless::Function\n"
    )
    assert check_runtime(str(sam), "python3.12") == 1
    sam.write_text(sam.read_text().replace("python3.11", "python3.12"))
    assert check_runtime(str(sam), "python3.12") == 0

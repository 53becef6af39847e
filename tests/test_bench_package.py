"""The bench runs from an ordinary install: its inputs are package data, its command parses."""

from __future__ import annotations

import tomllib
from pathlib import Path

from fasttts_desktop.bench import cli, inputs


def test_bench_inputs_are_package_data():
    ph = inputs.phonemes()
    assert len(ph["harvard"]) == 30 and len(ph["long"]) == 7
    assert all(len(item["phonemes"]) <= 510 for item in ph["harvard"] + ph["long"])
    assert "lighthouse" in inputs.data_text("long_text.txt")
    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    shipped = pyproject["tool"]["setuptools"]["package-data"]["fasttts_desktop"]
    assert {"bench/phonemes.json", "bench/long_text.txt"} <= set(shipped)


def test_bench_options_follow_the_flags():
    import torch

    args = cli._parser().parse_args(["--layout", "nhwc", "--lstm", "persistent", "--dtype", "bf16"])
    opts = cli.options_from(args)
    assert opts.channels_last and opts.lstm == "persistent" and opts.dtype == torch.bfloat16
    assert opts.compile == "inductor" and opts.fp32_parts == ("source", "post")
    # the warm-start child is started with the same build
    child = cli._parser().parse_args(["--warm-child", *cli._option_args(args)])
    assert cli.options_from(child) == opts

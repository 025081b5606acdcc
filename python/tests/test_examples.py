"""The examples in examples/python, driven without ComfyUI, diffusers or a model."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import synthmark

from conftest import REPO

EXAMPLES = REPO / "examples" / "python"


@pytest.fixture()
def comfyui_node(monkeypatch, identity):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    monkeypatch.setenv("SYNTHMARK_CERT", str(identity.cert))
    monkeypatch.setenv("SYNTHMARK_KEY", str(identity.key))
    import comfyui_synthmark

    return comfyui_synthmark


def comfy_batch(count: int, height: int = 384, width: int = 512) -> np.ndarray:
    """A ComfyUI IMAGE: [batch, height, width, 3] floats in [0, 1]."""
    rng = np.random.default_rng(5)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32) / width
    images = []
    for b in range(count):
        field = np.stack([np.sin(x * (7 + b + c) * 3.1) * np.cos(y * (5 + c) * 2.7 + b) for c in range(3)], -1)
        images.append(np.clip(0.5 + 0.35 * field + rng.normal(0, 0.04, field.shape), 0, 1))
    return np.stack(images).astype(np.float32)


def test_the_comfyui_node_stamps_a_batch_and_saves_it_like_save_image(comfyui_node, identity, checker, tmp_path):
    mapping = comfyui_node.NODE_CLASS_MAPPINGS
    assert set(mapping) == set(comfyui_node.NODE_DISPLAY_NAME_MAPPINGS) == {"SynthmarkStampAndSave"}
    node_class = mapping["SynthmarkStampAndSave"]
    inputs = node_class.INPUT_TYPES()
    assert inputs["required"]["images"] == ("IMAGE",)
    assert node_class.OUTPUT_NODE and node_class.RETURN_TYPES == ()

    node = node_class(output_dir=tmp_path)
    batch = comfy_batch(3)
    prompt = {"3": {"class_type": "KSampler", "inputs": {"seed": 42, "steps": 20, "cfg": 7.0}}}
    result = getattr(node, node_class.FUNCTION)(
        images=batch, filename_prefix="renders/cat", generator="SDXL/1.0", no_train=True,
        prompt=prompt, extra_pnginfo={"workflow": {"nodes": []}},
    )
    saved = result["ui"]["images"]
    assert [s["filename"] for s in saved] == ["cat_00001_.png", "cat_00002_.png", "cat_00003_.png"]
    for entry, pixels in zip(saved, batch):
        path = tmp_path / "renders" / entry["filename"]
        with Image.open(path) as image:
            assert image.size == (512, 384)
            assert json.loads(image.text["prompt"]) == prompt
            decoded = np.asarray(image.convert("RGB"), dtype=np.float32)
        # The mark is imperceptible: the saved pixels stay within a few levels of the input.
        assert np.abs(decoded - np.clip(255.0 * pixels, 0, 255).astype(np.uint8)).mean() < 2.0
        report = checker.check(path)
        assert (report["verdict"], report["trust"]) == ("labelled-ai", "trusted")
        assert [e["value"] for e in report["evidence"] if e["finding"] == "watermark"] == [entry["asset_id"]]
        assert any(e["layer"] == "generator-metadata" for e in report["evidence"])
    # A second run continues the numbering instead of replacing files.
    again = node.stamp_and_save(images=batch[:1], filename_prefix="renders/cat")
    assert [s["filename"] for s in again["ui"]["images"]] == ["cat_00004_.png"]


def test_the_diffusers_style_loop_stamps_and_checks_every_image(tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import diffusers_loop

    monkeypatch.setattr(sys, "argv", ["diffusers_loop.py", str(tmp_path / "out"), "--count", "4"])
    diffusers_loop.main()
    printed = capsys.readouterr().out
    assert "4 images generated and stamped" in printed
    assert "checked: 4 labelled-ai/trusted" in printed
    assert len(list((tmp_path / "out").glob("*.png"))) == 4


def test_the_type_stubs_match_the_compiled_module(tmp_path):
    """mypy's stubtest: every class, method, parameter and default in synthmark/__init__.pyi
    exists at run time as the stub says, and nothing public is missing from it."""
    pytest.importorskip("mypy.stubtest")
    import subprocess

    # From a temporary directory: mypy's cache goes there, not into the checkout.
    run = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "synthmark"], capture_output=True, text=True, cwd=tmp_path
    )
    assert run.returncode == 0, run.stdout + run.stderr

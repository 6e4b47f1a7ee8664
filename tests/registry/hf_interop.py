#!/usr/bin/python3
"""Interop with a second GPT-2 implementation: PyTorch, written here from the format
descriptions alone (a small safetensors reader and writer, the Hugging Face GPT-2 names and
Conv1D layouts, GPT-2's forward pass).

1. ogai -> PyTorch: train a tiny model with ogai-worker, register it, export it with
   `ogai-model export --format hf`, rebuild the forward pass in PyTorch from the exported
   folder only, and compare its logits with `ogai-model logits` (ogai's training forward).
   Also through a sharded export (model.safetensors.index.json).
2. PyTorch -> ogai: write a random GPT-2 in Hugging Face layout from PyTorch, import it with
   `ogai-model import`, and compare `ogai-model logits` with PyTorch's.

Logits agree when max|ogai - torch| <= 1e-4 * max|torch| over every position and token
(torch computes in float64, ogai in float32).

usage: hf_interop.py --bin BUILD/bin --source SRC
Exit 77 (ctest: skipped) when this python has no torch.
"""
import argparse
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile

try:
    import torch
except ImportError:
    print("hf_interop: this python has no torch (Debian's python3-torch); skipped")
    sys.exit(77)

TOL = 1e-4


def read_safetensors(path):
    """name -> float64 tensor, checking the format as its description says."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    assert 8 + n <= len(blob), "header length past the end"
    assert n % 8 == 0, "header not padded to 8 bytes"
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    header.pop("__metadata__", None)
    data = blob[8 + n:]
    spans = sorted((v["data_offsets"][0], v["data_offsets"][1], k) for k, v in header.items())
    at = 0
    for b, e, k in spans:
        assert b == at, f"hole or overlap at {k}"
        at = e
    assert at == len(data), "bytes after the last tensor"
    out = {}
    for k, v in header.items():
        assert v["dtype"] == "F32", k
        b, e = v["data_offsets"]
        count = (e - b) // 4
        vals = struct.unpack(f"<{count}f", data[b:e])
        out[k] = torch.tensor(vals, dtype=torch.float64).reshape(v["shape"])
    return out


def write_safetensors(path, tensors):
    header, offset, chunks = {}, 0, []
    for name, t in tensors.items():
        flat = t.detach().to(torch.float32).contiguous().reshape(-1).tolist()
        raw = struct.pack(f"<{len(flat)}f", *flat)
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        chunks.append(raw)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(chunks))


def load_hf_folder(d):
    if os.path.exists(os.path.join(d, "model.safetensors.index.json")):
        with open(os.path.join(d, "model.safetensors.index.json")) as f:
            idx = json.load(f)
        w = {}
        for fname in sorted(set(idx["weight_map"].values())):
            w.update(read_safetensors(os.path.join(d, fname)))
        assert set(w) == set(idx["weight_map"]), "index and files disagree"
    else:
        w = read_safetensors(os.path.join(d, "model.safetensors"))
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    return w, cfg


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3))))


def gpt2_forward(w, cfg, ids):
    """GPT-2 forward (Hugging Face layout: Conv1D weights are [in, out]); logits [T, V]."""
    C, H, L = cfg["n_embd"], cfg["n_head"], cfg["n_layer"]
    eps = cfg.get("layer_norm_epsilon", 1e-5)
    T = len(ids)
    ln = lambda x, p: torch.nn.functional.layer_norm(x, (C,), w[p + ".weight"], w[p + ".bias"], eps)
    x = w["wte.weight"][torch.tensor(ids)] + w["wpe.weight"][:T]
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
    for l in range(L):
        p = f"h.{l}."
        h = ln(x, p + "ln_1")
        qkv = h @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]
        q, k, v = qkv.split(C, dim=1)
        q, k, v = (t.reshape(T, H, C // H).transpose(0, 1) for t in (q, k, v))
        att = (q @ k.transpose(1, 2)) / math.sqrt(C // H)
        att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(0, 1).reshape(T, C)
        x = x + y @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        h = ln(x, p + "ln_2")
        h = gelu_new(h @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"])
        x = x + h @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
    x = ln(x, "ln_f")
    return x @ w["wte.weight"].T


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"FAILED: {' '.join(cmd)}\n{r.stdout}\n{r.stderr}")
    return r.stdout


def ogai_logits(model_bin, root, ref, ids):
    out = run([model_bin, "--root", root, "logits", ref, "--tokens", ",".join(map(str, ids))])
    rows = [list(map(float, line.split()[2:])) for line in out.strip().splitlines()]
    return torch.tensor(rows, dtype=torch.float64)


def compare(what, ours, ref):
    assert ours.shape == ref.shape, f"{what}: shapes {tuple(ours.shape)} vs {tuple(ref.shape)}"
    diff = (ours - ref).abs().max().item()
    scale = ref.abs().max().item()
    print(f"{what}: max|ogai - torch| = {diff:.3e}, max|logit| = {scale:.3f}, relative {diff / scale:.3e}")
    if not diff <= TOL * scale:
        sys.exit(f"FAILED: {what}: relative difference {diff / scale:.3e} > {TOL}")
    # Not vacuous: the logits differ between positions and tokens.
    assert ref.std().item() > 1e-3, f"{what}: logits are nearly constant"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--source", required=True)
    a = ap.parse_args()
    a.bin, a.source = os.path.abspath(a.bin), os.path.abspath(a.source)
    model_bin = os.path.join(a.bin, "ogai-model")
    tmp = tempfile.mkdtemp(prefix="ogai_hf_interop_", dir=os.environ.get("TMPDIR"))
    try:
        root = os.path.join(tmp, "registry")
        # 1. ogai -> PyTorch.
        run([os.path.join(a.bin, "ogai-worker"), os.path.join(a.source, "examples/tiny.yaml"), "train.steps=20",
             "data.demo_tokens=200000", "train.log_every=100", f"checkpoint.dir={tmp}/ckpt"], cwd=tmp)
        run([model_bin, "--root", root, "register", f"{tmp}/ckpt", "--name", "tiny"])
        prompt = list(b"The quick brown fox jumps over the lazy dog.")
        ours = ogai_logits(model_bin, root, "tiny", prompt)
        for shard_mb, tag in (("2048", "one file"), ("0.25", "sharded")):
            out = os.path.join(tmp, "hf_" + tag.replace(" ", "_"))
            run([model_bin, "--root", root, "export", "tiny", "--format", "hf", "--out", out, "--shard-mb", shard_mb])
            if tag == "sharded":
                assert os.path.exists(os.path.join(out, "model.safetensors.index.json")), "no index written"
            with open(os.path.join(out, "README.md")) as f:
                assert f.read().startswith("---\n"), "README.md has no YAML front matter"
            w, cfg = load_hf_folder(out)
            assert "lm_head.weight" not in w and cfg["tie_word_embeddings"]
            compare(f"ogai -> torch ({tag})", ours, gpt2_forward(w, cfg, prompt))

        # 2. PyTorch -> ogai: a random GPT-2 of another shape, written in HF layout.
        g = torch.Generator().manual_seed(1234)
        cfg = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": 96, "n_positions": 32,
               "n_embd": 48, "n_layer": 3, "n_head": 4, "activation_function": "gelu_new",
               "layer_norm_epsilon": 1e-5, "tie_word_embeddings": True}
        C, V, T = cfg["n_embd"], cfg["vocab_size"], cfg["n_positions"]
        r = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64) * 0.2
        w = {"wte.weight": r(V, C), "wpe.weight": r(T, C)}
        for l in range(cfg["n_layer"]):
            p = f"h.{l}."
            w.update({p + "ln_1.weight": 1 + r(C), p + "ln_1.bias": r(C), p + "attn.c_attn.weight": r(C, 3 * C),
                      p + "attn.c_attn.bias": r(3 * C), p + "attn.c_proj.weight": r(C, C), p + "attn.c_proj.bias": r(C),
                      p + "ln_2.weight": 1 + r(C), p + "ln_2.bias": r(C), p + "mlp.c_fc.weight": r(C, 4 * C),
                      p + "mlp.c_fc.bias": r(4 * C), p + "mlp.c_proj.weight": r(4 * C, C), p + "mlp.c_proj.bias": r(C)})
        w.update({"ln_f.weight": 1 + r(C), "ln_f.bias": r(C)})
        w = {k: v.to(torch.float32).to(torch.float64) for k, v in w.items()}  # what the file can hold
        src = os.path.join(tmp, "from_torch")
        os.makedirs(src)
        # The state-dict names GPT2LMHeadModel saves ("transformer." prefix), plus a tied lm_head.
        sd = {"transformer." + k: v for k, v in w.items()}
        sd["lm_head.weight"] = w["wte.weight"]
        write_safetensors(os.path.join(src, "model.safetensors"), sd)
        with open(os.path.join(src, "config.json"), "w") as f:
            json.dump(cfg, f)
        run([model_bin, "--root", root, "import", src, "--name", "from-torch"])
        ids = [(i * 37 + 5) % V for i in range(20)]
        compare("torch -> ogai", ogai_logits(model_bin, root, "from-torch", ids), gpt2_forward(w, cfg, ids))

        # A bad import is refused naming the tensor, and registers nothing.
        del sd["transformer.h.1.mlp.c_fc.bias"]
        bad = os.path.join(tmp, "bad")
        os.makedirs(bad)
        write_safetensors(os.path.join(bad, "model.safetensors"), sd)
        shutil.copy(os.path.join(src, "config.json"), bad)
        r = subprocess.run([model_bin, "--root", root, "import", bad, "--name", "bad"], capture_output=True, text=True)
        assert r.returncode != 0 and "h.1.mlp.c_fc.bias" in r.stderr, r.stderr
        ls = run([model_bin, "--root", root, "ls"])
        assert "bad" not in ls, ls
        print("hf_interop: OK")
    finally:
        if not os.environ.get("OGAI_TEST_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

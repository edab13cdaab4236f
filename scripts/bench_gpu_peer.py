"""Hugging Face transformers on the GPU, as a peer for our CUDA build: the same
GGUF file (transformers dequantizes it to float16), prefill of `pp` tokens and
greedy decode of `tg` tokens, the median of `runs` after a warm-up. Prints JSON.

    python3 scripts/bench_gpu_peer.py MODEL.gguf [pp] [tg] [runs]

Needs torch with CUDA, transformers and the `gguf` package.
"""

import json
import os
import statistics
import sys
import time

import torch
from transformers import AutoModelForCausalLM


def main() -> None:
    path = sys.argv[1]
    pp = int(sys.argv[2]) if len(sys.argv) > 2 else 512
    tg = int(sys.argv[3]) if len(sys.argv) > 3 else 128
    runs = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    model = AutoModelForCausalLM.from_pretrained(
        os.path.dirname(path), gguf_file=os.path.basename(path), torch_dtype=torch.float16
    ).cuda()
    model.eval()
    vocab = model.config.vocab_size
    prompt = torch.arange(100, 100 + pp, device="cuda").remainder(vocab).unsqueeze(0)
    pp_rates, tg_rates = [], []
    with torch.inference_mode():
        for run in range(runs + 1):
            torch.cuda.synchronize()
            start = time.perf_counter()
            model(prompt + run % 2)
            torch.cuda.synchronize()
            prefill = time.perf_counter() - start
            one = prompt[:, run : run + 1]
            start = time.perf_counter()
            out = model.generate(
                one, max_new_tokens=tg, min_new_tokens=tg, do_sample=False, pad_token_id=0, attention_mask=torch.ones_like(one)
            )
            torch.cuda.synchronize()
            decode = time.perf_counter() - start
            if run > 0:
                pp_rates.append(pp / prefill)
                tg_rates.append((out.shape[1] - 1) / decode)
    print(
        json.dumps(
            {
                "peer": f"transformers {__import__('transformers').__version__}, torch {torch.__version__}, float16",
                "gpu": torch.cuda.get_device_name(0),
                "pp": pp,
                "tg": tg,
                "runs": runs,
                "pp_tok_s": statistics.median(pp_rates),
                "tg_tok_s": statistics.median(tg_rates),
            }
        )
    )


if __name__ == "__main__":
    main()

"""--device and --precision: ``auto`` picks bf16 only where the CPU computes in it natively; large tensors in huge
pages."""

import os
import subprocess
import sys

import torch

from painterly.runtime import native_bf16_in, resolve_precision

SKYLAKE = "processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512dq avx512cd avx512bw avx512vl avx512_vnni\n"
SAPPHIRE_RAPIDS = SKYLAKE.replace("avx512_vnni", "avx512_vnni avx512_bf16 amx_bf16 amx_tile")
NEOVERSE_V1 = "processor\t: 0\nFeatures\t: fp asimd sve i8mm bf16 svebf16\n"


def test_bf16_is_native_only_with_its_own_instructions():
    # oneDNN emulates bf16 on AVX-512 CPUs without AVX-512 BF16, several times slower than fp32
    assert not native_bf16_in(SKYLAKE)
    assert native_bf16_in(SAPPHIRE_RAPIDS) and native_bf16_in(NEOVERSE_V1)
    assert not native_bf16_in("") and not native_bf16_in("model name\t: bf16 avx512_bf16\n")  # only the flags


def test_explicit_precisions_are_kept():
    cpu = torch.device("cpu")
    assert resolve_precision("fp32", cpu) == torch.float32 and resolve_precision("bf16", cpu) == torch.bfloat16
    assert resolve_precision("auto", cpu) in (torch.float32, torch.bfloat16)


def test_large_tensors_go_to_huge_pages_unless_the_user_says_no():
    probe = "import os, painterly; print(os.environ.get('THP_MEM_ALLOC_ENABLE'))"
    env = {k: v for k, v in os.environ.items() if k != "THP_MEM_ALLOC_ENABLE"}

    def run(code: str, **extra: str) -> str:
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**env, **extra})
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

    assert run(probe) == "1"
    assert run(probe, THP_MEM_ALLOC_ENABLE="0") == "0"  # the user's choice is kept
    # torch reads it once, when it loads: set after that it would be a promise not kept, so it is left alone
    assert run("import torch; " + probe) == "None"

"""Small hand-written IR modules and clang helpers shared by the IR view tests."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

# A branch, a loop, a call to a defined function and a call to an external one.
LOOP_MODULE = """\
define internal i32 @square(i32 %x) {
entry:
  %r = mul nsw i32 %x, %x
  ret i32 %r
}

declare i32 @ext(i32)

define i32 @main(i32 %n) {
entry:
  %pos = icmp sgt i32 %n, 0
  br i1 %pos, label %loop, label %exit

loop:
  %i = phi i32 [ 0, %entry ], [ %next, %loop ]
  %acc = phi i32 [ 0, %entry ], [ %sum, %loop ]
  %sq = call i32 @square(i32 %i)
  %sum = add i32 %acc, %sq
  %next = add i32 %i, 1
  %done = icmp eq i32 %next, %n
  br i1 %done, label %exit, label %loop

exit:
  %res = phi i32 [ 0, %entry ], [ %sum, %loop ]
  %e = call i32 @ext(i32 %res)
  ret i32 %e
}
"""

# A switch, an indirect call, an alloca, a global and vector/aggregate instructions.
SWITCH_MODULE = """\
@table = internal global [4 x i32] zeroinitializer
define i32 @pick(i32 %k, ptr %f) {
  %slot = alloca i32
  switch i32 %k, label %other [
    i32 1, label %one
    i32 7, label %seven
  ]
one:
  %p = getelementptr inbounds [4 x i32], ptr @table, i64 0, i64 1
  %v = load i32, ptr %p
  br label %other
seven:
  %w = call i32 %f(i32 7)
  store i32 %w, ptr %slot
  br label %other
other:
  %r = phi i32 [ 0, %0 ], [ %v, %one ], [ %w, %seven ]
  %vec = insertelement <2 x i32> zeroinitializer, i32 %r, i32 0
  %e = extractelement <2 x i32> %vec, i64 1
  %agg = insertvalue { i32, float } poison, i32 %e, 0
  %x = extractvalue { i32, float } %agg, 1
  %c = fptosi float %x to i32
  ret i32 %c
}
"""


C_PROGRAM = """\
#include <stdio.h>
struct point { int x; float y; };
static int square(int v) { return v * v; }
int scale = 3;
int main(int argc, char **argv) {
  struct point p = {argc, 1.5f};
  int total = 0;
  for (int i = 0; i < argc; i++) {
    if (i & 1) total += square(i); else total -= p.x;
  }
  printf("%d %f\\n", total, p.y);
  return total + scale;
}
"""


def clang_or_skip() -> str:
    clang = shutil.which("clang-14") or shutil.which("clang")
    if clang is None:
        pytest.skip("clang is not installed (infra/bootstrap.sh installs it with apt)")
    return clang


def compile_c(tmp_path: Path, source: str, *flags: str, name: str = "prog.c",
              suffix: str = ".bc") -> bytes:
    """Compiles C (or C++ by name) with clang-14 to bitcode (``.bc``) or text (``.ll``)."""
    clang = clang_or_skip()
    src = tmp_path / name
    src.write_text(source)
    out = tmp_path / (src.stem + "-" + "-".join(f.strip("-") for f in flags) + suffix)
    command = [clang, "-c", "-emit-llvm", *flags, str(src), "-o", str(out)]
    if suffix == ".ll":
        command.insert(1, "-S")
    subprocess.run(command, check=True, capture_output=True, timeout=60)
    return out.read_bytes()

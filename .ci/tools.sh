#!/usr/bin/env bash
# CI: makes sure the tools the `fdleak trace` acceptance tests need are present (they must run,
# not skip): strace that can print stacks (-k, built with libunwind: Debian's is), gcc (the tests
# build a C leaker with -g), binutils (addr2line) and util-linux (setpriv). Installs the Debian
# packages with apt-get only when something is missing, so a second run does nothing.
set -uo pipefail
missing=()
if [ ! -x /usr/bin/strace ] || ! /usr/bin/strace -k -qq -e trace=none -o /dev/null -- /bin/true 2>/dev/null; then missing+=(strace); fi
[ -x /usr/bin/gcc ] || missing+=(gcc libc6-dev)
[ -x /usr/bin/addr2line ] || missing+=(binutils)
[ -x /usr/bin/setpriv ] || [ -x /bin/setpriv ] || missing+=(util-linux)
if [ ${#missing[@]} -eq 0 ]; then
  echo "tools.sh: strace (-k), gcc, addr2line and setpriv present"
  exit 0
fi
echo "tools.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" || { echo "tools.sh: apt-get failed"; exit 1; }
/usr/bin/strace -k -qq -e trace=none -o /dev/null -- /bin/true || { echo "tools.sh: strace has no -k (stack traces)"; exit 1; }
echo "tools.sh: done"

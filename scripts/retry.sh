# Sourced by the scripts that download (scripts/setup.sh, scripts/gpu-pack.sh, datasets/fetch.sh,
# bench/stlite.sh). `retry WHAT CMD...` runs CMD up to 4 times, pausing 30, 60 and 90 s between
# tries: registry mirrors break off long downloads (setup's wheels once stopped at 88.9 of
# 90.2 MB), and a first failure on a fresh machine must not end its set-up. WHAT names the
# download in the messages.
retry() {
  local what=$1 try
  shift
  for try in 1 2 3 4; do
    "$@" && return 0
    [ $try = 4 ] && break
    echo "downloading $what failed (try $try of 4); trying again in $((try * 30)) s" >&2
    sleep $((try * 30))
  done
  echo "error: could not download $what (4 tries); run this again when the connection is back" >&2
  return 1
}

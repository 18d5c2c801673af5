# Shell functions the bench/*.sh scripts share: source it (". bench/lib.sh"
# after the script's cd, or ". "$here/bench/lib.sh"), do not run it. Each
# function says which variables it reads and sets.

# campaign_start NAME CONTACTS ROUNDS ARGS...: the start of the crash and
# fault campaigns. Reads ARGS (--seed N, --contacts N, --rounds N, --only
# SCENARIO) into SEED, CONTACTS, ROUNDS and ONLY (CONTACTS and ROUNDS
# default to the numbers given; an unknown argument exits 2 naming it),
# draws a seed when none is given, makes the folder $tmp (removed on exit)
# and builds $tmp/cardbridge and $tmp/campaign. Run from the repository.
campaign_start() {
  local name=$1
  SEED=0 CONTACTS=$2 ROUNDS=$3 ONLY= STATE=sqlite
  shift 3
  while [ $# -gt 0 ]; do
    case $1 in
      --seed) SEED=$2; shift 2 ;;
      --contacts) CONTACTS=$2; shift 2 ;;
      --rounds) ROUNDS=$2; shift 2 ;;
      --only) ONLY=$2; shift 2 ;;
      --state) STATE=$2; shift 2
        case $STATE in sqlite|postgres) ;; *) echo "$name: --state $STATE: sqlite or postgres" >&2; exit 2 ;; esac ;;
      *) echo "$name: unknown argument $1" >&2; exit 2 ;;
    esac
  done
  [ "$SEED" = 0 ] && SEED=$(( (RANDOM << 15) | RANDOM ))
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  echo "== building cardbridge and the campaign harness"
  go build -o "$tmp/cardbridge" ./cmd/cardbridge
  go build -o "$tmp/campaign" ./bench/crash/campaign
}

# bench_options ARGS...: the options of the measuring benchmarks. Reads
# --json, --timeout SECS and --bin PATH into JSON (0 or 1), TIMEOUT (0: none)
# and BIN (empty: build one) and leaves the rest of ARGS, from the first one
# that is not an option, in the array ARGS (an unknown option exits 2).
bench_options() {
  JSON=0 TIMEOUT=0 BIN=
  while [ $# -gt 0 ]; do
    case $1 in
      --json) JSON=1; shift ;;
      --timeout) TIMEOUT=$2; shift 2 ;;
      --bin) BIN=$2; shift 2 ;;
      -*) echo "bench: unknown option $1" >&2; exit 2 ;;
      *) break ;;
    esac
  done
  ARGS=("$@")
}

# build_cardbridge DEST [BIN]: the cardbridge binary at DEST: a copy of BIN
# when it is given and not empty, else built from the repository at $here.
build_cardbridge() {
  if [ -n "${2:-}" ]; then cp "$2" "$1"; else (cd "$here" && go build -o "$1" ./cmd/cardbridge); fi
}

# freeport: prints a TCP port free on 127.0.0.1.
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# waitport PORT: waits (up to about 10 s) until http://127.0.0.1:PORT/
# answers; returns 1 with a message when it never does.
waitport() { for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.1; done; echo "bench: port $1 never answered" >&2; return 1; }

# start_cardbridge BIN DIR PORT PASSWORD LOG: `BIN serve` on 127.0.0.1:PORT
# in the background (its $! is the server), its state and config in DIR,
# with the user "bench" of PASSWORD, logging to LOG. The caller waits for
# the port.
start_cardbridge() {
  mkdir -p "$2"
  printf 'state: %s/state.db\nserver:\n  listen: 127.0.0.1:%s\n' "$2" "$3" > "$2/config.yaml"
  echo "$4" | "$1" --config "$2/config.yaml" user add bench >/dev/null
  "$1" --quiet --config "$2/config.yaml" serve >"$5" 2>&1 &
}

# vdirsyncer_conf FILE STATUS VDIR URL PASSWORD: writes to FILE the
# vdirsyncer config of one pair: the vCard folder VDIR ("a wins") with the
# CardDAV book URL of the user "bench", its status in STATUS.
vdirsyncer_conf() {
  cat > "$1" <<EOC
[general]
status_path = "$2"
[pair p]
a = "local"
b = "remote"
collections = null
conflict_resolution = "a wins"
[storage local]
type = "filesystem"
path = "$3"
fileext = ".vcf"
[storage remote]
type = "carddav"
url = "$4"
username = "bench"
password = "$5"
EOC
}

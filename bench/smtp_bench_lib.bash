# smtp_bench_lib.bash: the pieces the SMTP benchmarks share, sourced by
# bench/smtp_side_by_side.sh and bench/spf_cost.sh (not named *.sh: scripts/run-benchmarks
# runs every bench/*.sh, and this file is no benchmark of its own).
#   bench_setup NAME...  spool file system ($BENCH_FS under $BENCH_DIR), $tmp, one cpuacct
#                        cgroup per NAME, the cleanup trap (calls bench_cleanup_hook if
#                        the script defines it, e.g. to stop Postfix or dnsmasq)
#   cg_run NAME CMD... & CMD in cgroup NAME;   cg_ns NAME: its CPU so far (ns)
#   port, wait_port PORT, settle
#   rate PORT SESSIONS SIZE MSGS CGROUP [smtp-source options...]
#                        -> "msgs/s server-CPU-ms/msg machine-busy-ms/msg"
#   median V..., ratio A B, range R...
#   PIN, srv_pin/gen_pin CMD..., machine_line, loadavg (see below)
#   pf_start CGROUP      a private Postfix (sets PFP, HAVE_PF); lat PORT SESS SIZE MSGS CGROUP [RATE]
# Everything listens on 127.0.0.1 high ports and is stopped by the trap.

ulimit -n 65536 2>/dev/null || ulimit -n 30000 2>/dev/null || true
# PIN=1 (or --pin to the scripts): the servers run on the first half of the cores, the
# load generator on the other half (taskset), so a machine with more cores shows the
# servers' throughput without the generator's share. The kernel's own threads (loop
# device, journal, writeback) are not pinned. PIN=0: no pinning.
PIN=${PIN:-0}
NCORES=$(nproc)
SRV_CPUS=""; GEN_CPUS=""
if [ "$PIN" = 1 ]; then
  if [ "$NCORES" -ge 2 ]; then
    half=$(( NCORES / 2 ))
    SRV_CPUS="0-$(( half - 1 ))"; GEN_CPUS="$half-$(( NCORES - 1 ))"
  else
    echo "bench: PIN=1 needs 2 cores or more; not pinning" >&2; PIN=0
  fi
fi
srv_pin() { if [ "$PIN" = 1 ]; then taskset -c "$SRV_CPUS" "$@"; else "$@"; fi; }
gen_pin() { if [ "$PIN" = 1 ]; then taskset -c "$GEN_CPUS" "$@"; else "$@"; fi; }
# "cores N (servers on CPUS, generator on CPUS)" or "cores N (not pinned)"; the load average.
machine_line() {
  if [ "$PIN" = 1 ]; then echo "cores $NCORES (pinned: servers on CPU $SRV_CPUS, load generator on CPU $GEN_CPUS)"
  else echo "cores $NCORES (not pinned)"; fi
}
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
# Spools live under BENCH_DIR (default /var/tmp, where a spool would be: same disk
# as /tmp here, but on this VM creating a file under /tmp costs ~1.4 ms against
# ~0.02 ms elsewhere on the same ext4, which would measure the sandbox, not the MTAs).
# BENCH_FS=loop (the default as root): the spools on a fresh 2 GB ext4 image with its
# default journal, loop-mounted under BENCH_DIR: what a mail server's /var/spool is,
# and the same for every server whatever the host's file system (this VM's root is ext4
# *without* a journal; fsync on the loop device still reaches the disk: the loop
# driver turns each flush into an fsync of the image). BENCH_FS=dir: BENCH_DIR itself.
BENCH_DIR=${BENCH_DIR:-/var/tmp}
BENCH_FS=${BENCH_FS:-$([ "$(id -u)" = 0 ] && echo loop || echo dir)}
img=""; mnt=""; tmp=""
pids=()
# CPU per message of each server: each runs in its own cpuacct cgroup (v1; children
# inherit it, so Postfix's smtpd/cleanup/qmgr/discard processes all count), read before
# and after each run. Kernel threads (jbd2, loop, writeback) belong to no server; the
# whole machine's busy time per message is measured too (/proc/stat).
CG=/sys/fs/cgroup/cpuacct
cg_ok=0; cg_tag="mxg-bench-$$"; cg_names=()

bench_setup() {  # bench_setup CGROUP_NAME...
  if [ "$BENCH_FS" = loop ]; then
    img=$(mktemp "$BENCH_DIR/mxg-bench-XXXXXX.img"); mnt="${img%.img}.mnt"; mkdir -p "$mnt"
    if truncate -s 2G "$img" && mkfs.ext4 -q -F "$img" && mount -o loop "$img" "$mnt"; then
      BENCH_DIR=$mnt
    else
      echo "bench: cannot loop-mount an ext4 image; using $BENCH_DIR (BENCH_FS=dir)" >&2
      rm -f "$img"; rmdir "$mnt"; img=""; mnt=""; BENCH_FS=dir
    fi
  fi
  tmp=$(mktemp -d "$BENCH_DIR/mxg-bench-XXXXXX")
  chmod 755 "$tmp"  # the postfix user must reach its queue below it
  cg_names=("$@")
  if [ -w "$CG" ]; then
    cg_ok=1
    local n
    for n in "${cg_names[@]}"; do mkdir "$CG/$cg_tag-$n" 2>/dev/null || cg_ok=0; done
  fi
  # With BENCH_FS=dir on ext4 *without* a journal (this VM's root): such an ext4 refuses
  # to reuse an inode freed in the last 60 s (300 s more while its inode-table block is
  # dirty; fs/ext4/ialloc.c recently_deleted()) and scans past each one, so after many
  # deletions every file creation costs ~1 ms. Postfix's discard transport deletes each
  # queue file at once; without a pause its deletions would tax whichever MTA runs next.
  # SETTLE seconds pass before each mxguard run (the first one too: the previous bench's
  # rm -rf). Postfix keeps paying for its own deletions inside its run.
  SETTLE=${SETTLE:-$([ "$BENCH_FS" = loop ] && echo 0 || echo 60)}
  trap bench_cleanup EXIT
}

cg_run() {  # cg_run NAME CMD... &: CMD in cgroup NAME (when available); only backgrounded,
  local name=$1; shift  # so that exec replaces the background subshell and $! is CMD
  [ "$cg_ok" = 1 ] && echo "$BASHPID" > "$CG/$cg_tag-$name/tasks"
  # Pinned: the server's CPUs are set on this shell, which exec then becomes (children
  # such as Postfix's smtpd inherit them).
  [ "$PIN" = 1 ] && taskset -pc "$SRV_CPUS" "$BASHPID" >/dev/null
  exec "$@"
}
cg_ns() { if [ "$cg_ok" = 1 ]; then cat "$CG/$cg_tag-$1/cpuacct.usage"; else echo 0; fi; }
busy_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }

bench_cleanup() {
  local p n t
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  declare -F bench_cleanup_hook >/dev/null && bench_cleanup_hook
  pf_stop
  sleep 0.5
  if [ -w "$CG" ]; then
    for n in "${cg_names[@]}"; do
      while read -r t; do echo "$t" > "$CG/tasks"; done < "$CG/$cg_tag-$n/tasks" 2>/dev/null
      rmdir "$CG/$cg_tag-$n" 2>/dev/null
    done
  fi
  [ -n "$tmp" ] && rm -rf "$tmp"
  if [ -n "$mnt" ]; then umount "$mnt" && rm -f "$img" && rmdir "$mnt"; fi
}

port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 not up" >&2; return 1; }
settle() { [ "$SETTLE" -gt 0 ] && sleep "$SETTLE"; }

rate() {  # port sessions size msgs cgroup [smtp-source options] -> "msgs/s server-CPU-ms/msg machine-busy-ms/msg"
  local t0 t1 c0 c1 b0 b1
  c0=$(cg_ns "$5"); b0=$(busy_ticks); t0=$(date +%s.%N)
  gen_pin /usr/sbin/smtp-source -s "$2" -m "$4" -l "$3" -f src@bench.test -t dst@bench.test "${@:6}" "127.0.0.1:$1" >/dev/null 2>&1 || { echo "fail fail fail"; return; }
  t1=$(date +%s.%N); c1=$(cg_ns "$5"); b1=$(busy_ticks)
  echo "$4 $t0 $t1 $c0 $c1 $b0 $b1 $cg_ok $(getconf CLK_TCK)" |
    awk '{ r = $1/($3-$2); c = $8 ? sprintf("%.3f", ($5-$4)/1e6/$1) : "-";
           printf "%.0f %s %.3f", r, c, ($7-$6)*1000/$9/$1 }'
}

median() { printf "%s\n" "$@" | grep -v -e fail -e '^-$' | sort -n | awk '{v[NR]=$1} END { if (NR) print v[int((NR+1)/2)]; else print "-" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a+0>0 && b+0>0) printf "%.2fx", a/b; else print "-" }'; }
range() { printf "%s\n" "$@" | tr -d x | grep -v -- - | sort -n | awk 'NR==1{lo=$1} {hi=$1} END { if (NR) printf "%.2f-%.2fx", lo, hi; else print "-" }'; }

# The "variants against off" table of the cost benchmarks (spf_cost.sh, auth_cost.sh):
# reads the caller's arrays variants, R (msgs/s), C (server CPU ms/msg) and B (machine
# ms/msg), one value per repetition each; off is the baseline of the same repetition.
us_diff() {  # A B (ms/msg) -> (A-B) in us, or "-"
  awk -v a="$1" -v b="$2" 'BEGIN { n = "^[0-9.]+$"; if (a ~ n && b ~ n) printf "%.0f", (a - b) * 1000; else print "-" }'
}
per_rep() {  # variant -> "ratios..." and "cpu-diffs-us..." against off of the same repetition
  local -a rv ro cv co; local i out1="" out2=""
  read -ra rv <<<"${R[$1]}"; read -ra ro <<<"${R[off]}"; read -ra cv <<<"${C[$1]}"; read -ra co <<<"${C[off]}"
  for i in "${!rv[@]}"; do
    out1+="$(ratio "${rv[$i]}" "${ro[$i]}") "
    out2+="$(us_diff "${cv[$i]}" "${co[$i]}") "
  done
  echo "$out1|$out2"
}
print_vs_off_table() {
  local v m c b rr cd extra
  echo
  printf "%-8s %9s %13s %15s %9s %17s %15s %19s\n" variant "msgs/s" "CPU ms/msg" "machine ms/msg" "vs off" "per-rep vs off" "CPU us/msg +" "per-rep CPU us +"
  for v in "${variants[@]}"; do
    m=$(median ${R[$v]}); c=$(median ${C[$v]}); b=$(median ${B[$v]})
    if [ "$v" = off ]; then
      printf "%-8s %9s %13s %15s %9s %17s %15s %19s\n" "$v" "$m" "$c" "$b" "1.00x" "" "" ""
    else
      IFS='|' read -r rr cd <<<"$(per_rep "$v")"
      extra=$(us_diff "$c" "$(median ${C[off]})")
      printf "%-8s %9s %13s %15s %9s %17s %15s %19s\n" "$v" "$m" "$c" "$b" "$(ratio "$m" "$(median ${R[off]})")" \
        "$(range $rr)" "$extra" "$(echo $cd | tr ' ' ',')"
    fi
  done
}

# pf_start CGROUP: a private Postfix (Debian's) on a loopback port with its normal durable
# queue and default_transport = discard, in cgroup CGROUP; sets PFP (its port) and HAVE_PF
# (1 when it answers). Stopped by the cleanup trap.
pf_start() {
  local pfcg=$1
  PFP=$(port)
  pf="$tmp/postfix"
  mkdir -p "$pf" "$tmp/pfspool" "$tmp/pfdata"
  chown postfix "$tmp/pfdata"
  sed -e "s/^smtp      inet  n       -       y       -       -       smtpd/127.0.0.1:$PFP inet n - n - - smtpd/" \
      -e 's/^\(smtp\|submission\|smtps\) *inet.*//' /etc/postfix/master.cf > "$pf/master.cf"
  grep -q "^127.0.0.1:$PFP" "$pf/master.cf" || echo "127.0.0.1:$PFP inet n - n - - smtpd" >> "$pf/master.cf"
  cat > "$pf/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $tmp/pfspool
data_directory = $tmp/pfdata
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = bench.test
mydestination =
mynetworks = 127.0.0.0/8
default_transport = discard
relay_transport = discard
local_transport = discard
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
default_process_limit = 200
maillog_file = /dev/stdout
EOF
  # start-fg: master in the foreground (its log on stdout), stopped by `postfix stop`
  cg_run "$pfcg" postfix -c "$pf" start-fg > "$tmp/postfix.log" 2>&1 &
  if wait_port "$PFP"; then HAVE_PF=1; else HAVE_PF=0; echo "postfix: could not start a private instance:" >&2; tail -3 "$tmp/postfix.log" >&2; fi
}
pf_stop() { [ -f "$tmp/postfix/main.cf" ] && postfix -c "$tmp/postfix" stop >/dev/null 2>&1; }

# End of DATA -> 250 latency from client-side timestamps ($LATENCY: bench/tools/smtp_latency.cpp).
lat() {  # port sessions size msgs cgroup [rate] -> "rate p50 p99 cpu-ms/msg late"
  local c0 c1 out
  c0=$(cg_ns "$5")
  out=$(gen_pin "$LATENCY" 127.0.0.1 "$1" "$2" "$4" "$3" ${6:+"$6"} 2>/dev/null) || { echo "fail fail fail fail fail"; return; }
  c1=$(cg_ns "$5")
  echo "$out $c0 $c1 $4" | awk '{ for (i = 1; i <= NF - 3; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    c = ($(NF-1) > $(NF-2)) ? sprintf("%.3f", ($(NF-1)-$(NF-2))/1e6/$NF) : "-"
    printf "%s %s %s %s %s", v["rate"], v["p50_ms"], v["p99_ms"], c, (v["late"] == "" ? 0 : v["late"]) }'
}

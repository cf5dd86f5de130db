#!/bin/busybox sh
# /init of the kernel matrix's initramfs (built by test/kernels/vm.ts): loads
# the virtio/virtiofs modules the kernel lacks, mounts the host's / read-only,
# runs the command given on the kernel command line (pgferret.cmd=<base64>)
# chrooted there, reports on the second serial port and powers off.
#
# ttyS0 is the console: kernel messages, this script's progress, the command's
# stderr as it comes. ttyS1 carries the result alone (nothing else writes to it):
#   ===PGFERRET-EXIT <status>===, then STDOUT, STDERR, DMESG sections in base64,
#   ===PGFERRET-END===; or ===PGFERRET-INIT-FAILED <reason>=== when the guest
#   could not get as far as the command.
/bin/busybox mkdir -p /bin /proc /sys /dev /newroot
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t devtmpfs dev /dev

say() { echo "pgferret-init: $*" > /dev/console; }
off() {
  sleep 1 # the console catches up; ttyS1 was drained when it was closed
  poweroff -f
}
fail() {
  say "FAILED: $*"
  echo "===PGFERRET-INIT-FAILED $*===" > /dev/ttyS1
  off
}

stty -F /dev/ttyS1 raw -echo 2>/dev/null || fail "no second serial port (ttyS1)"

# In order: each needs the ones before it (modules.list is empty where they are built in).
for m in $(cat /modules.list); do
  insmod "/modules/$m.ko" || fail "insmod $m failed"
done

# the virtiofs device may show up a moment after its driver is loaded
tries=0
until mount -t virtiofs -o ro hostroot /newroot 2>/dev/null; do
  tries=$((tries + 1))
  [ "$tries" -ge 50 ] && fail "no virtiofs: cannot mount the host's root (tag hostroot) after 5 s"
  sleep 0.1
done
say "host root mounted read-only"

R=/newroot
mount -t tmpfs -o mode=1777 tmpfs $R/tmp
mount -t tmpfs -o mode=1777 tmpfs $R/var/tmp
mount -t tmpfs -o mode=755 tmpfs $R/run
mount -t proc proc $R/proc
mount -t sysfs sysfs $R/sys
mount -t devtmpfs dev $R/dev
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts devpts $R/dev/pts
mount -t tmpfs -o mode=1777 shm $R/dev/shm
mount -t bpf bpf $R/sys/fs/bpf
mount -t tracefs tracefs $R/sys/kernel/tracing
mount -t debugfs debugfs $R/sys/kernel/debug
mount -t cgroup2 cgroup2 $R/sys/fs/cgroup
ip link set lo up || fail "cannot bring lo up"
hostname pgferret-guest

cmd=$(sed -n 's/.*pgferret\.cmd=\([^ ]*\).*/\1/p' /proc/cmdline | base64 -d)
[ -n "$cmd" ] || fail "no pgferret.cmd= on the kernel command line"
say "running: $cmd"

# stderr to the console as it comes (progress), and kept for the report
mkfifo /stderr.fifo
tee /stderr.log < /stderr.fifo > /dev/console &
tee_pid=$!
chroot $R /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  /bin/sh -c "$cmd" < /dev/null > /stdout.log 2> /stderr.fifo
status=$?
# a process the command left behind may hold the fifo open: do not wait for it long
i=0
while kill -0 $tee_pid 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
kill $tee_pid 2>/dev/null
say "command exited with status $status"

{
  echo "===PGFERRET-EXIT $status==="
  echo "===PGFERRET-STDOUT==="
  base64 /stdout.log
  echo "===PGFERRET-STDERR==="
  base64 /stderr.log
  echo "===PGFERRET-DMESG==="
  dmesg | base64
  echo "===PGFERRET-END==="
} > /dev/ttyS1
off

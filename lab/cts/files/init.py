#!/usr/bin/python3
"""PID 1 of a CTS lab host (vigil lab cts).

Each lab host runs in a PID namespace of its own, with this process as its init, because CTS runs commands such as
`killall -9 heartbeat` on a node: in the machine's PID namespace that would kill every Heartbeat on the machine.
It also makes a reboot safe: reboot(2) from inside a PID namespace other than the first kills that namespace's init
(and with it everything the host runs) instead of restarting the machine. The lab's /sbin/reboot asks for the same
thing with SIGTERM; the lab notices this process exiting, cuts the host's power (link down, addresses gone) and boots
it again.

usage: init.py BOOT-SCRIPT [ARGS...]   (the boot script starts the host's daemons, which detach and become ours)
"""
import os
import signal
import subprocess
import sys


def halt(signum, frame):
    # Exiting is the whole shutdown: the kernel kills every process of the namespace with us.
    os._exit(0)


signal.signal(signal.SIGTERM, halt)
signal.signal(signal.SIGINT, halt)
signal.signal(signal.SIGHUP, halt)

# This host's /proc must show its own processes (killall, pidof and ps read it).
subprocess.run(["umount", "-l", "/proc"], stderr=subprocess.DEVNULL)
subprocess.run(["mount", "-t", "proc", "proc", "/proc"], check=True)
# What /sbin/reboot checks before asking us to stop: that it runs inside this namespace.
with open("/run/cts-lab-pidns", "w") as f:
    f.write(os.readlink("/proc/self/ns/pid") + "\n")

signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
subprocess.Popen(["/bin/sh", *sys.argv[1:]], stdin=subprocess.DEVNULL)
while True:
    signal.sigtimedwait({signal.SIGCHLD}, 5)
    # Daemons that detached are our children now: reap whatever exited.
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break

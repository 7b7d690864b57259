#!/bin/sh
# Boot of a CTS lab host (vigil lab cts), run by init.py as PID 1's first child.
# usage: boot.sh node|exerciser [start-cm]
# Starts what the host runs at boot: rsyslog, and on a node sshd and atd; with start-cm, the cluster manager too, as
# an init script would for a node whose cluster manager is enabled at boot (CTS's Stonith test expects that).
role=$1
mkdir -p /run/rsyslog /run/sshd /run/lock/subsys
chmod 755 /run/sshd
/usr/sbin/rsyslogd -f /etc/rsyslog.conf -i /run/rsyslogd.pid
if [ "$role" = node ]; then
  /usr/sbin/sshd -f /etc/ssh/sshd_config
  /usr/sbin/atd
  if [ "$2" = start-cm ]; then
    /usr/lib/heartbeat/heartbeat >/dev/null 2>&1
  fi
fi
touch /run/cts-lab-booted

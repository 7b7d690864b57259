/*
 * Fast flood sender for bench/flood.ts and the `hostile` lab scenario (a Node sender cannot reach 50k packets/s on
 * a busy core).
 * Usage: flood-sender <garbage|replay|file> <target-ip> <port> <pps> <seconds> [packet-file]
 *   replay: sends the one packet in packet-file again and again.
 *   file:   cycles through packet-file, records of [1 byte class][4 bytes big-endian length][bytes] (see
 *           lab/hostile-packets.ts encodePacketFile), and reports what it sent per class.
 * Bounded: at most 200k packets/s and 60 s; the target must be a lab address (192.168.1.x in the lab namespaces;
 * 192.168.1.255 reaches every lab host at once). The rate reported is the one achieved, measured here.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLASSES 32
#define MAX_PACKET 65507
#define MAX_FILE (256L * 1024 * 1024)

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

struct rec {
  unsigned char cls;
  unsigned int len;
  const unsigned char *data;
};

/* Reads the whole packet file; returns the number of records, or -1 with a message. */
static long load(const char *path, struct rec **out) {
  FILE *f = fopen(path, "rb");
  if (!f) { fprintf(stderr, "cannot open %s\n", path); return -1; }
  if (fseek(f, 0, SEEK_END) != 0) { fclose(f); return -1; }
  long size = ftell(f);
  rewind(f);
  if (size <= 0 || size > MAX_FILE) { fprintf(stderr, "packet file empty or over 256 MB\n"); fclose(f); return -1; }
  unsigned char *buf = malloc(size);
  if (!buf || fread(buf, 1, size, f) != (size_t)size) { fprintf(stderr, "cannot read %s\n", path); fclose(f); return -1; }
  fclose(f);
  long n = 0, cap = 1024;
  struct rec *r = malloc(cap * sizeof *r);
  for (long at = 0; at < size;) {
    if (at + 5 > size) { fprintf(stderr, "truncated record header at %ld\n", at); return -1; }
    unsigned int len = ((unsigned)buf[at + 1] << 24) | ((unsigned)buf[at + 2] << 16) | ((unsigned)buf[at + 3] << 8) | buf[at + 4];
    if (buf[at] >= MAX_CLASSES || len == 0 || len > MAX_PACKET || at + 5 + (long)len > size) {
      fprintf(stderr, "bad record at %ld (class %u, length %u)\n", at, buf[at], len);
      return -1;
    }
    if (n == cap) { cap *= 2; r = realloc(r, cap * sizeof *r); }
    r[n].cls = buf[at];
    r[n].len = len;
    r[n].data = buf + at + 5;
    n++;
    at += 5 + len;
  }
  *out = r;
  return n;
}

int main(int argc, char **argv) {
  if (argc < 6) return 2;
  const char *mode = argv[1], *ip = argv[2];
  int port = atoi(argv[3]);
  double pps = atof(argv[4]), secs = atof(argv[5]);
  if (strncmp(ip, "192.168.1.", 10) != 0) { fprintf(stderr, "lab addresses only\n"); return 2; }
  if (pps > 200000) pps = 200000;
  if (secs > 60) secs = 60;
  int is_file = strcmp(mode, "file") == 0, is_garbage = strcmp(mode, "garbage") == 0;
  unsigned char buf[2048];
  size_t len = 64;
  struct rec *recs = NULL;
  long nrecs = 0;
  if (strcmp(mode, "replay") == 0) {
    FILE *f = argc > 6 ? fopen(argv[6], "rb") : NULL;
    if (!f) { fprintf(stderr, "replay needs a packet file\n"); return 2; }
    len = fread(buf, 1, sizeof buf, f);
    fclose(f);
  } else if (is_file) {
    if (argc < 7) { fprintf(stderr, "file needs a packet file\n"); return 2; }
    nrecs = load(argv[6], &recs);
    if (nrecs <= 0) return 2;
  } else if (!is_garbage) {
    fprintf(stderr, "mode must be garbage, replay or file\n");
    return 2;
  }
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &on, sizeof on);
  struct sockaddr_in to = {0};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  inet_pton(AF_INET, ip, &to.sin_addr);
  unsigned long sent = 0, errors = 0, bytes = 0;
  unsigned long cls_sent[MAX_CLASSES] = {0}, cls_err[MAX_CLASSES] = {0};
  int last_errno = 0;
  unsigned int seed = 12345;
  double start = now(), end = start + secs;
  for (;;) {
    double t = now();
    if (t >= end) break;
    unsigned long due = (unsigned long)((t - start) * pps);
    while (sent < due) {
      /* A sender descheduled for a while owes a big burst: it must not run past the end to pay it off. */
      if ((sent & 63) == 63 && now() >= end) break;
      const unsigned char *p = buf;
      unsigned char cls = 0;
      if (is_garbage) {
        len = 64 + sent % 256;
        for (size_t i = 0; i < len; i++) buf[i] = (unsigned char)rand_r(&seed);
      } else if (is_file) {
        const struct rec *r = &recs[sent % nrecs];
        p = r->data;
        len = r->len;
        cls = r->cls;
      }
      if (sendto(fd, p, len, 0, (struct sockaddr *)&to, sizeof to) < 0) {
        errors++;
        cls_err[cls]++;
        last_errno = errno;
      } else {
        bytes += len;
      }
      cls_sent[cls]++;
      sent++;
    }
    usleep(200);
  }
  double elapsed = now() - start;
  printf("{\"mode\":\"%s\",\"sent\":%lu,\"errors\":%lu,\"seconds\":%.3f,\"bytes\":%lu,\"pps\":%.1f,\"last_errno\":%d",
         mode, sent, errors, elapsed, bytes, elapsed > 0 ? (sent - errors) / elapsed : 0.0, last_errno);
  if (is_file) {
    printf(",\"records\":%ld,\"per_class\":{", nrecs);
    int first = 1;
    for (int c = 0; c < MAX_CLASSES; c++) {
      if (cls_sent[c] == 0) continue;
      printf("%s\"%d\":[%lu,%lu]", first ? "" : ",", c, cls_sent[c], cls_err[c]);
      first = 0;
    }
    printf("}");
  }
  printf("}\n");
  return 0;
}

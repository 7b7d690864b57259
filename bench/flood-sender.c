/*
 * Fast flood sender for bench/flood.ts (a Node sender cannot reach 50k packets/s on a busy core).
 * Usage: flood-sender <garbage|replay> <target-ip> <port> <pps> <seconds> [replay-packet-file]
 * Bounded: at most 200k packets/s and 60 s; the target must be a lab address (192.168.1.x in the lab namespaces).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 6) return 2;
  const char *mode = argv[1], *ip = argv[2];
  int port = atoi(argv[3]);
  double pps = atof(argv[4]), secs = atof(argv[5]);
  if (strncmp(ip, "192.168.1.", 10) != 0) { fprintf(stderr, "lab addresses only\n"); return 2; }
  if (pps > 200000) pps = 200000;
  if (secs > 60) secs = 60;
  unsigned char buf[2048];
  size_t len = 64;
  if (strcmp(mode, "replay") == 0) {
    FILE *f = argc > 6 ? fopen(argv[6], "rb") : NULL;
    if (!f) { fprintf(stderr, "replay needs a packet file\n"); return 2; }
    len = fread(buf, 1, sizeof buf, f);
    fclose(f);
  }
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in to = {0};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  inet_pton(AF_INET, ip, &to.sin_addr);
  unsigned long sent = 0, errors = 0;
  unsigned int seed = 12345;
  double start = now(), end = start + secs;
  for (;;) {
    double t = now();
    if (t >= end) break;
    unsigned long due = (unsigned long)((t - start) * pps);
    while (sent < due) {
      if (strcmp(mode, "garbage") == 0) {
        len = 64 + sent % 256;
        for (size_t i = 0; i < len; i++) buf[i] = (unsigned char)rand_r(&seed);
      }
      if (sendto(fd, buf, len, 0, (struct sockaddr *)&to, sizeof to) < 0) errors++;
      sent++;
    }
    usleep(200);
  }
  printf("{\"mode\":\"%s\",\"sent\":%lu,\"errors\":%lu,\"seconds\":%.3f}\n", mode, sent, errors, now() - start);
  return 0;
}

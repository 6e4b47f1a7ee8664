/* A real MPI program for the launcher tests: every rank checks the world size it was given
 * on its command line, all-reduces its rank, checks the sum, and prints one line. With
 * "abort R" as second argument, rank R calls MPI_Abort(MPI_COMM_WORLD, 3) instead. With
 * "segments R", after the all-reduce every rank prints "segment PATH" for each shared-memory
 * file it has mapped (Open MPI's vader/sm segments, from /proc/self/maps), then rank R kills
 * itself with SIGKILL (no MPI_Finalize) and the others wait to be stopped. */
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int expected = argc > 1 ? atoi(argv[1]) : size;
  if (argc > 3 && strcmp(argv[2], "abort") == 0 && rank == atoi(argv[3])) {
    fprintf(stderr, "rank %d calls MPI_Abort\n", rank);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 3);
  }
  long mine = rank, sum = 0;
  MPI_Allreduce(&mine, &sum, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
  long want = (long)size * (size - 1) / 2;
  printf("mpi rank %d of %d sum %ld %s\n", rank, size, sum, (size == expected && sum == want) ? "ok" : "WRONG");
  fflush(stdout);
  if (argc > 3 && strcmp(argv[2], "segments") == 0) {
    FILE* maps = fopen("/proc/self/maps", "r");
    char line[4096];
    while (maps != NULL && fgets(line, sizeof line, maps) != NULL) {
      char* path = strchr(line, '/');
      if (path == NULL || (strstr(path, "vader_segment") == NULL && strstr(path, "sm_segment") == NULL)) continue;
      printf("segment %s", path);
    }
    if (maps != NULL) fclose(maps);
    fflush(stdout);
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == atoi(argv[3])) raise(SIGKILL);
    sleep(120);
  }
  MPI_Finalize();
  return (size == expected && sum == want) ? 0 : 1;
}

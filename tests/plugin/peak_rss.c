/* Runs a command and prints its peak resident memory in KiB (wait4's
 * ru_maxrss) on stdout; the command's own output goes to /dev/null.
 * Exits with the command's status (126 when it cannot be started). */
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: peak_rss COMMAND [ARG...]\n");
        return 2;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("peak_rss: fork");
        return 126;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
        execv(argv[1], argv + 1);
        _exit(126);
    }
    int status = 0;
    struct rusage use;
    if (wait4(pid, &status, 0, &use) < 0) {
        perror("peak_rss: wait4");
        return 126;
    }
    printf("%ld\n", use.ru_maxrss);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* grade_key.c - read the grader's key before main() (given; see grade_key.h)
 *
 * Talk: asynchronous programming / event loop (how to test one without a stopwatch)
 * Usage: #include "grade_key.h", link grade_key.c (timer_harness.c does)
 */
#include "grade_key.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char key[48]; /* "[KEY] ", or "" */

/* Before main(): the key from the file WB_GRADE_KEY_FILE names, if any; then
 * the file is deleted and the variable unset, so nothing that runs later can
 * read it. */
__attribute__((constructor)) static void read_key(void)
{
    const char *path = getenv("WB_GRADE_KEY_FILE");
    if (path == NULL)
        return;
    int fd = open(path, O_RDONLY);
    if (fd >= 0) {
        char k[40] = "";
        ssize_t n = read(fd, k, sizeof k - 1);
        if (n > 0) {
            k[strcspn(k, "\n")] = '\0';
            snprintf(key, sizeof key, "[%s] ", k);
        }
        close(fd);
    }
    unlink(path);
    unsetenv("WB_GRADE_KEY_FILE");
}

const char *grade_key(void)
{
    return key;
}

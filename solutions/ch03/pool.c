/* pool.c - the bounded pool's set-up, clean-up and command line (given; see pool.h)
 *
 * Talk: parallel handling / thread pool and Queue(maxsize)
 * Usage: #include "pool.h", link pool.c (bounded_pool.c does)
 */
#include "pool.h"
#include "workbook.h"

#include <getopt.h>

static void init_cond(pthread_cond_t *cond)
{
    int err = pthread_cond_init(cond, NULL);
    if (err != 0)
        wb_die_err(err, "pthread_cond_init");
}

void pool_init(struct pool *p, char **urls, int n, int nworkers, int capacity)
{
    *p = (struct pool){.capacity = capacity, .urls = urls, .nworkers = nworkers};
    p->slots = calloc((size_t)capacity, sizeof *p->slots);
    p->results = calloc((size_t)n, sizeof *p->results);
    p->workers = calloc((size_t)nworkers, sizeof *p->workers);
    if (p->slots == NULL || p->results == NULL || p->workers == NULL)
        wb_die("calloc");

    /* the lock and its three conditions */
    int err = pthread_mutex_init(&p->lock, NULL);
    if (err != 0)
        wb_die_err(err, "pthread_mutex_init");
    init_cond(&p->not_empty);
    init_cond(&p->not_full);
    init_cond(&p->result_in);
}

void pool_free(struct pool *p, int n)
{
    pthread_cond_destroy(&p->result_in);
    pthread_cond_destroy(&p->not_full);
    pthread_cond_destroy(&p->not_empty);
    pthread_mutex_destroy(&p->lock);
    free(p->workers);
    free(p->results);
    free(p->slots);
    wb_urls_free(p->urls, n);
}

static _Noreturn void usage(int status)
{
    fprintf(status ? stderr : stdout,
            "Usage: %s [-w WORKERS] [-c CAPACITY] [-n N] [-d MS] [URL...]\n"
            "WORKERS threads (default 3) fetch the URLs from a queue of at most\n"
            "CAPACITY (default 2); the results come out in input order.\n",
            program_invocation_short_name);
    exit(status);
}

void parse_options(int argc, char **argv, struct wb_opts *o, int *w, int *c)
{
    static const struct option longs[] = {{"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "w:c:n:d:h", longs, NULL)) != -1) {
        if (wb_common_opt(opt, optarg, o))
            continue;
        switch (opt) {
        case 'w': *w = (int)wb_opt_long("-w", optarg, 1, 1000); break;
        case 'c': *c = (int)wb_opt_long("-c", optarg, 1, 100000); break;
        case 'h': usage(0);
        default: usage(2);
        }
    }
}

/* pool.h - the bounded pool's data, and its set-up and clean-up (given)
 *
 * Talk: parallel handling / thread pool and Queue(maxsize)
 * Given: bounded_pool.c works on a struct pool; pool.c sets it up, frees it
 * and reads the command line. Keep these as they are.
 */
#ifndef POOL_H
#define POOL_H

#include <pthread.h>
#include <stdbool.h>

/* What a worker found for one URL. */
struct result {
    bool done;
    long long bytes; /* -1: failed, and why says why */
    double seconds;
    char why[160];
};

struct pool {
    pthread_mutex_t lock;     /* guards everything below */
    pthread_cond_t not_empty; /* signalled when a URL is put in */
    pthread_cond_t not_full;  /* signalled when a URL is taken out */
    pthread_cond_t result_in; /* broadcast when a result is stored */
    int *slots;               /* the queue: a ring of URL numbers */
    int capacity;
    int head;  /* the slot of the oldest URL */
    int count; /* URLs in the queue now */
    bool stop; /* no more URLs will come */
    char **urls;
    struct result *results; /* one per URL, in input order */
    pthread_t *workers;
    int nworkers;
};

/* Everything zero, the capacity set, the mutex and condition variables
 * initialised, room for the queue, the results and the workers' ids. */
void pool_init(struct pool *p, char **urls, int n, int nworkers, int capacity);

/* Destroy what pool_init() made, and the URLs. */
void pool_free(struct pool *p, int n);

/* -w WORKERS, -c CAPACITY, and the fetch programs' -n N and -d MS. */
struct wb_opts;
void parse_options(int argc, char **argv, struct wb_opts *o, int *w, int *c);

#endif

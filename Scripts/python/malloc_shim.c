// Counts heap allocations of a process for Scripts/python/count_mallocs.py (LD_PRELOAD): calls to
// malloc, calloc, realloc, posix_memalign, aligned_alloc and memalign, their bytes, a histogram by
// size, and, per call site (two return addresses above the allocator and the runtime function that
// called it: swift_allocObject and friends), the same. Written to $KILN_MALLOC_COUNT_OUT (with the process's memory map beside it, for
// symbols) when the process exits. A measuring tool, not part of Kiln.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <execinfo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

static void *(*next_malloc)(size_t);
static void *(*next_calloc)(size_t, size_t);
static void *(*next_realloc)(void *, size_t);
static int (*next_posix_memalign)(void **, size_t, size_t);
static void *(*next_aligned_alloc)(size_t, size_t);
static void *(*next_memalign)(size_t, size_t);
static void (*next_free)(void *);

// dlsym may allocate before the real functions are known: serve those calls from here.
static char bootstrap[1 << 16];
static size_t bootstrap_used;
static void *bootstrap_alloc(size_t size) {
    void *p = bootstrap + bootstrap_used;
    bootstrap_used += (size + 15) & ~(size_t)15;
    return p;
}

#define SITES 8192
static void *site_keys[SITES][2];
static long site_counts[SITES], site_bytes[SITES];
static int site_total;
static long total_count, total_bytes, buckets[5];  // < 256 B, < 4 KiB, < 64 KiB, < 1 MiB, larger
static __thread int busy;
static int owner_pid;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void resolve(void) {
    next_malloc = dlsym(RTLD_NEXT, "malloc");
    next_calloc = dlsym(RTLD_NEXT, "calloc");
    next_realloc = dlsym(RTLD_NEXT, "realloc");
    next_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
    next_aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
    next_memalign = dlsym(RTLD_NEXT, "memalign");
    next_free = dlsym(RTLD_NEXT, "free");
}

static void note(size_t size) {
    if (busy || !owner_pid) return;
    busy = 1;
    void *trace[6];
    int depth = backtrace(trace, 6);
    void *key[2] = {depth > 4 ? trace[4] : 0, depth > 5 ? trace[5] : 0};
    pthread_mutex_lock(&lock);
    total_count += 1;
    total_bytes += (long)size;
    buckets[size < 256 ? 0 : size < 4096 ? 1 : size < 65536 ? 2 : size < 1048576 ? 3 : 4] += 1;
    int found = -1;
    for (int i = 0; i < site_total; i++) {
        if (site_keys[i][0] == key[0] && site_keys[i][1] == key[1]) { found = i; break; }
    }
    if (found < 0 && site_total < SITES) {
        found = site_total++;
        site_keys[found][0] = key[0];
        site_keys[found][1] = key[1];
    }
    if (found >= 0) { site_counts[found] += 1; site_bytes[found] += (long)size; }
    pthread_mutex_unlock(&lock);
    busy = 0;
}

void *malloc(size_t size) {
    if (!next_malloc) { if (busy) return bootstrap_alloc(size); busy = 1; resolve(); busy = 0; }
    note(size);
    return next_malloc(size);
}
void *calloc(size_t count, size_t size) {
    if (!next_calloc) { void *p = bootstrap_alloc(count * size); memset(p, 0, count * size); return p; }
    note(count * size);
    return next_calloc(count, size);
}
void *realloc(void *pointer, size_t size) {
    if (!next_realloc) resolve();
    note(size);
    return next_realloc(pointer, size);
}
int posix_memalign(void **pointer, size_t alignment, size_t size) {
    if (!next_posix_memalign) resolve();
    note(size);
    return next_posix_memalign(pointer, alignment, size);
}
void *aligned_alloc(size_t alignment, size_t size) {
    if (!next_aligned_alloc) resolve();
    note(size);
    return next_aligned_alloc(alignment, size);
}
void *memalign(size_t alignment, size_t size) {
    if (!next_memalign) resolve();
    note(size);
    return next_memalign(alignment, size);
}
void free(void *pointer) {
    if ((char *)pointer >= bootstrap && (char *)pointer < bootstrap + sizeof bootstrap) return;
    if (!next_free) resolve();
    next_free(pointer);
}

__attribute__((constructor)) static void start(void) { owner_pid = getpid(); }

__attribute__((destructor)) static void finish(void) {
    const char *path = getenv("KILN_MALLOC_COUNT_OUT");
    if (!path || getpid() != owner_pid) return;
    busy = 1;
    FILE *out = fopen(path, "w");
    if (!out) return;
    fprintf(out, "total %ld %ld %ld %ld %ld %ld %ld\n", total_count, total_bytes,
            buckets[0], buckets[1], buckets[2], buckets[3], buckets[4]);
    for (int i = 0; i < site_total; i++) {
        fprintf(out, "%ld %ld %p %p\n", site_counts[i], site_bytes[i], site_keys[i][0], site_keys[i][1]);
    }
    fclose(out);
    char maps_path[4096];
    snprintf(maps_path, sizeof maps_path, "%s.maps", path);
    FILE *in = fopen("/proc/self/maps", "r"), *maps = fopen(maps_path, "w");
    char buffer[4096];
    size_t read;
    while (in && maps && (read = fread(buffer, 1, sizeof buffer, in)) > 0) fwrite(buffer, 1, read, maps);
    if (in) fclose(in);
    if (maps) fclose(maps);
}

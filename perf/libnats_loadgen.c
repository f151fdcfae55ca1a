/* libnats_loadgen: the plainest closed-loop request/reply load a libnats client can make, as a
 * yardstick for beamline_loadgen. If the project's load generator drives a responder slower than
 * this does, the load generator is the limit, not the responder.
 *
 * One connection with nats.c's defaults (its batching flusher, no send-asap, default buffers);
 * one subscription on <inbox>.*; request i goes out with reply subject <inbox>.<slot>, and the
 * reply's last token names the slot, whose reply publishes the slot's next request. N slots are
 * always outstanding. Deliberately written apart from beamline_loadgen (C, no shared code), so
 * the two can check each other.
 *
 *   libnats_loadgen [--url URL] [--tls-ca F --tls-cert F --tls-key F] [--subject S]
 *                   [--inflight N] [--duration S] [--warmup S] [--tenants K]
 *
 * Prints one JSON line. Replies are counted and timed when they arrive inside the measured window.
 */
#include <nats/nats.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Log-linear latency buckets: 32 per power of two (3% precision), nanoseconds up to 2^40. */
#define SUB_BITS 5
#define SUB_COUNT (1 << SUB_BITS)
#define BUCKETS (41 * SUB_COUNT)

typedef struct
{
    const char* url;
    const char* ca;
    const char* cert;
    const char* key;
    const char* subject;
    long inflight;
    double duration_s;
    double warmup_s;
    long tenants;
} settings;

typedef struct
{
    settings config;
    natsConnection* connection;
    char inbox[128];
    size_t inbox_length;
    int64_t* sent_at;          /* per slot: set just before its request goes out, read at its reply */
    uint64_t buckets[BUCKETS]; /* written by the delivery thread, read after it has drained */
    uint64_t replies;          /* replies inside the window, same */
    uint64_t max_ns;
    int64_t window_begin;
    int64_t window_end;
    atomic_uint_fast64_t sequence;
    atomic_long outstanding;
    atomic_int publish_failures;
} load;

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int bucket_of(uint64_t ns)
{
    if (ns < SUB_COUNT) return (int)ns;
    int magnitude = 63 - __builtin_clzll(ns); /* >= SUB_BITS */
    if (magnitude > 40) return BUCKETS - 1;
    return (magnitude - SUB_BITS + 1) * SUB_COUNT + (int)((ns >> (magnitude - SUB_BITS)) & (SUB_COUNT - 1));
}

static double bucket_value_us(int bucket)
{
    if (bucket < SUB_COUNT) return bucket / 1000.0;
    int magnitude = bucket / SUB_COUNT - 1 + SUB_BITS;
    uint64_t low = ((uint64_t)SUB_COUNT + (uint64_t)(bucket % SUB_COUNT)) << (magnitude - SUB_BITS);
    return (double)low / 1000.0;
}

static double quantile_us(const load* l, double q)
{
    if (l->replies == 0) return 0;
    uint64_t rank = (uint64_t)(q * (double)l->replies);
    if (rank >= l->replies) rank = l->replies - 1;
    uint64_t seen = 0;
    for (int b = 0; b < BUCKETS; ++b)
    {
        seen += l->buckets[b];
        if (seen > rank) return bucket_value_us(b);
    }
    return l->max_ns / 1000.0;
}

static void send_request(load* l, long slot)
{
    char reply_to[160];
    char body[512];
    uint64_t sequence = atomic_fetch_add_explicit(&l->sequence, 1, memory_order_relaxed);
    snprintf(reply_to, sizeof reply_to, "%s.%ld", l->inbox, slot);
    int length =
        snprintf(body, sizeof body,
                 "{\"version\":\"1\",\"request_id\":\"r-%llu\",\"tenant_id\":\"t-%llu\","
                 "\"policy_id\":\"default\",\"task\":{\"type\":\"text.generate\","
                 "\"payload\":{\"prompt\":\"hi\"}},\"metadata\":{\"user_id\":\"u-%llu\"}}",
                 (unsigned long long)sequence, (unsigned long long)(sequence % (uint64_t)l->config.tenants),
                 (unsigned long long)((sequence * 2654435761ULL) % 10000));
    l->sent_at[slot] = now_ns();
    if (natsConnection_PublishRequest(l->connection, l->config.subject, reply_to, body, length) != NATS_OK)
    {
        atomic_fetch_add(&l->publish_failures, 1);
        atomic_fetch_sub(&l->outstanding, 1);
    }
}

static void on_reply(natsConnection* connection, natsSubscription* subscription, natsMsg* message,
                     void* closure)
{
    (void)connection;
    (void)subscription;
    load* l = closure;
    const int64_t now = now_ns();
    const char* subject = natsMsg_GetSubject(message);
    char* end = NULL;
    long slot = -1;
    if (strlen(subject) > l->inbox_length + 1) slot = strtol(subject + l->inbox_length + 1, &end, 10);
    const int matched = slot >= 0 && slot < l->config.inflight && end != NULL && *end == '\0';
    natsMsg_Destroy(message); /* `end` points into its subject */
    if (!matched) return;
    if (now >= l->window_begin && now < l->window_end)
    {
        uint64_t latency = (uint64_t)(now - l->sent_at[slot]);
        ++l->buckets[bucket_of(latency)];
        ++l->replies;
        if (latency > l->max_ns) l->max_ns = latency;
    }
    if (now < l->window_end)
        send_request(l, slot);
    else
        atomic_fetch_sub(&l->outstanding, 1);
}

static int parse_arguments(int argc, char** argv, settings* s)
{
    *s = (settings){.url = "nats://127.0.0.1:4222",
                    .subject = "beamline.router.v1.decide",
                    .inflight = 512,
                    .duration_s = 5,
                    .warmup_s = 1,
                    .tenants = 1000};
    for (int i = 1; i < argc; ++i)
    {
        const char* flag = argv[i];
        if (i + 1 >= argc)
        {
            fprintf(stderr, "libnats_loadgen: %s needs a value\n", flag);
            return 0;
        }
        const char* value = argv[++i];
        char* end = NULL;
        double number = strtod(value, &end);
        int numeric_ok = end != value && *end == '\0' && number >= 0;
        if (strcmp(flag, "--url") == 0)
            s->url = value;
        else if (strcmp(flag, "--tls-ca") == 0)
            s->ca = value;
        else if (strcmp(flag, "--tls-cert") == 0)
            s->cert = value;
        else if (strcmp(flag, "--tls-key") == 0)
            s->key = value;
        else if (strcmp(flag, "--subject") == 0)
            s->subject = value;
        else if (!numeric_ok)
        {
            fprintf(stderr, "libnats_loadgen: %s needs a non-negative number, got '%s'\n", flag, value);
            return 0;
        }
        else if (strcmp(flag, "--inflight") == 0)
            s->inflight = (long)number;
        else if (strcmp(flag, "--duration") == 0)
            s->duration_s = number;
        else if (strcmp(flag, "--warmup") == 0)
            s->warmup_s = number;
        else if (strcmp(flag, "--tenants") == 0)
            s->tenants = (long)number;
        else
        {
            fprintf(stderr, "libnats_loadgen: unknown option %s\n", flag);
            return 0;
        }
    }
    if (s->inflight < 1 || s->inflight > 1000000 || s->tenants < 1 || s->duration_s <= 0)
    {
        fputs("libnats_loadgen: --inflight 1..1000000, --tenants >= 1 and --duration > 0\n", stderr);
        return 0;
    }
    return 1;
}

static natsStatus connect_with_defaults(const settings* s, natsConnection** out)
{
    natsOptions* options = NULL;
    natsStatus status = natsOptions_Create(&options);
    if (status == NATS_OK) status = natsOptions_SetURL(options, s->url);
    if (status == NATS_OK) status = natsOptions_SetAllowReconnect(options, false);
    if (status == NATS_OK && (s->ca != NULL || s->cert != NULL || strncmp(s->url, "tls://", 6) == 0))
        status = natsOptions_SetSecure(options, true);
    if (status == NATS_OK && s->ca != NULL) status = natsOptions_LoadCATrustedCertificates(options, s->ca);
    if (status == NATS_OK && s->cert != NULL)
        status = natsOptions_LoadCertificatesChain(options, s->cert, s->key);
    if (status == NATS_OK) status = natsConnection_Connect(out, options);
    natsOptions_Destroy(options);
    return status;
}

static void sleep_until(int64_t deadline)
{
    for (int64_t left; (left = deadline - now_ns()) > 0;)
    {
        struct timespec pause = {left / 1000000000, left % 1000000000};
        nanosleep(&pause, NULL);
    }
}

int main(int argc, char** argv)
{
    static load l;
    if (!parse_arguments(argc, argv, &l.config))
    {
        fputs("usage: libnats_loadgen [--url URL] [--tls-ca F --tls-cert F --tls-key F] [--subject S]\n"
              "                       [--inflight N] [--duration S] [--warmup S] [--tenants K]\n",
              stderr);
        return 2;
    }
    l.sent_at = calloc((size_t)l.config.inflight, sizeof *l.sent_at);
    natsInbox* inbox = NULL;
    natsSubscription* subscription = NULL;
    natsStatus status = connect_with_defaults(&l.config, &l.connection);
    if (status == NATS_OK) status = natsInbox_Create(&inbox);
    if (status == NATS_OK)
    {
        snprintf(l.inbox, sizeof l.inbox, "%s", (const char*)inbox);
        l.inbox_length = strlen(l.inbox);
        char wildcard[140];
        snprintf(wildcard, sizeof wildcard, "%s.*", l.inbox);
        status = natsConnection_Subscribe(&subscription, l.connection, wildcard, on_reply, &l);
    }
    if (status == NATS_OK) status = natsSubscription_SetPendingLimits(subscription, -1, -1);
    if (status == NATS_OK) status = natsConnection_Flush(l.connection);
    if (status != NATS_OK)
    {
        fprintf(stderr, "libnats_loadgen: %s: %s (%s)\n", l.config.url, natsStatus_GetText(status),
                nats_GetLastError(NULL));
        return 1;
    }
    const int64_t start = now_ns();
    l.window_begin = start + (int64_t)(l.config.warmup_s * 1e9);
    l.window_end = l.window_begin + (int64_t)(l.config.duration_s * 1e9);
    atomic_store(&l.outstanding, l.config.inflight);
    for (long slot = 0; slot < l.config.inflight; ++slot)
        send_request(&l, slot);
    sleep_until(l.window_end);
    /* Replies still under way end their slots; give them a second, then stop delivery for good. */
    const int64_t drain_deadline = now_ns() + 1000000000;
    while (atomic_load(&l.outstanding) > 0 && now_ns() < drain_deadline)
        sleep_until(now_ns() + 5000000);
    if (natsSubscription_Drain(subscription) == NATS_OK)
        natsSubscription_WaitForDrainCompletion(subscription, 5000);
    printf("{\"tool\":\"libnats_loadgen\",\"subject\":\"%s\",\"inflight\":%ld,\"duration_s\":%.3f,"
           "\"replies\":%llu,\"throughput_rps\":%.1f,\"unanswered\":%ld,\"publish_failures\":%d,"
           "\"latency_us\":{\"p50\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f}}\n",
           l.config.subject, l.config.inflight, l.config.duration_s, (unsigned long long)l.replies,
           (double)l.replies / l.config.duration_s, atomic_load(&l.outstanding),
           atomic_load(&l.publish_failures), quantile_us(&l, 0.50), quantile_us(&l, 0.99),
           quantile_us(&l, 0.999), l.max_ns / 1000.0);
    natsSubscription_Destroy(subscription);
    natsInbox_Destroy(inbox);
    natsConnection_Close(l.connection);
    natsConnection_Destroy(l.connection);
    free(l.sent_at);
    nats_Close();
    return 0;
}

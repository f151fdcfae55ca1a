/* An independent NATS peer built on the official C client (libnats), for scripts and tests.
 *
 *   nats_echo_responder [connection options] --subject S [--count N] [--timeout-ms T]
 *       replies to every message on S with the same body; prints "ready" once subscribed;
 *       exits 0 after N messages (0 = no limit, until the timeout), 3 when the timeout ends first.
 *   nats_echo_responder [connection options] --request BODY --subject S [--timeout-ms T]
 *       sends one request and prints the reply; exits 0 when the reply equals BODY.
 *   nats_echo_responder [connection options] --ping
 *       connects and completes a PING/PONG round trip; exits 0 when it did.
 *
 * Connection options: --server URL (nats://127.0.0.1:4222), --ca FILE, --cert FILE --key FILE
 * (client certificate), --hostname NAME (expected in the server certificate), --user U --password P,
 * --token T. A connection failure exits 1 with libnats' reason on stderr; bad usage exits 2.
 */
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct
{
    const char* server;
    const char* ca;
    const char* cert;
    const char* key;
    const char* hostname;
    const char* user;
    const char* password;
    const char* token;
    const char* subject;
    const char* request_body;
    long count;
    long timeout_ms;
    int ping;
} arguments;

static void usage(FILE* out)
{
    fputs("usage: nats_echo_responder [--server URL] [--ca FILE] [--cert FILE --key FILE]\n"
          "           [--hostname NAME] [--user U --password P] [--token T]\n"
          "           (--subject S [--count N] | --request BODY --subject S | --ping)\n"
          "           [--timeout-ms T]\n",
          out);
}

static int parse_number(const char* flag, const char* text, long* out)
{
    char* end = NULL;
    long value = strtol(text, &end, 10);
    if (end == text || *end != '\0' || value < 0)
    {
        fprintf(stderr, "nats_echo_responder: %s needs a non-negative number, got '%s'\n", flag, text);
        return 0;
    }
    *out = value;
    return 1;
}

static int parse_arguments(int argc, char** argv, arguments* args)
{
    memset(args, 0, sizeof *args);
    args->server = "nats://127.0.0.1:4222";
    args->timeout_ms = 10000;
    for (int i = 1; i < argc; ++i)
    {
        const char* flag = argv[i];
        if (strcmp(flag, "--help") == 0 || strcmp(flag, "-h") == 0)
        {
            usage(stdout);
            exit(0);
        }
        if (strcmp(flag, "--ping") == 0)
        {
            args->ping = 1;
            continue;
        }
        if (i + 1 >= argc)
        {
            fprintf(stderr, "nats_echo_responder: %s needs a value\n", flag);
            return 0;
        }
        const char* value = argv[++i];
        if (strcmp(flag, "--server") == 0)
            args->server = value;
        else if (strcmp(flag, "--ca") == 0)
            args->ca = value;
        else if (strcmp(flag, "--cert") == 0)
            args->cert = value;
        else if (strcmp(flag, "--key") == 0)
            args->key = value;
        else if (strcmp(flag, "--hostname") == 0)
            args->hostname = value;
        else if (strcmp(flag, "--user") == 0)
            args->user = value;
        else if (strcmp(flag, "--password") == 0)
            args->password = value;
        else if (strcmp(flag, "--token") == 0)
            args->token = value;
        else if (strcmp(flag, "--subject") == 0)
            args->subject = value;
        else if (strcmp(flag, "--request") == 0)
            args->request_body = value;
        else if (strcmp(flag, "--count") == 0)
        {
            if (!parse_number(flag, value, &args->count)) return 0;
        }
        else if (strcmp(flag, "--timeout-ms") == 0)
        {
            if (!parse_number(flag, value, &args->timeout_ms)) return 0;
        }
        else
        {
            fprintf(stderr, "nats_echo_responder: unknown option %s\n", flag);
            return 0;
        }
    }
    if (!args->ping && args->subject == NULL)
    {
        fputs("nats_echo_responder: one of --subject or --ping is required\n", stderr);
        return 0;
    }
    if ((args->cert == NULL) != (args->key == NULL))
    {
        fputs("nats_echo_responder: --cert and --key go together\n", stderr);
        return 0;
    }
    return 1;
}

static natsStatus make_options(const arguments* args, natsOptions** out)
{
    natsOptions* opts = NULL;
    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK) s = natsOptions_SetURL(opts, args->server);
    if (s == NATS_OK) s = natsOptions_SetTimeout(opts, 2000);
    if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, 0);
    if (s == NATS_OK && args->ca != NULL) s = natsOptions_LoadCATrustedCertificates(opts, args->ca);
    if (s == NATS_OK && args->cert != NULL)
        s = natsOptions_LoadCertificatesChain(opts, args->cert, args->key);
    if (s == NATS_OK && args->hostname != NULL) s = natsOptions_SetExpectedHostname(opts, args->hostname);
    if (s == NATS_OK && (args->ca != NULL || args->cert != NULL)) s = natsOptions_SetSecure(opts, true);
    if (s == NATS_OK && args->user != NULL) s = natsOptions_SetUserInfo(opts, args->user, args->password);
    if (s == NATS_OK && args->token != NULL) s = natsOptions_SetToken(opts, args->token);
    if (s != NATS_OK)
        natsOptions_Destroy(opts);
    else
        *out = opts;
    return s;
}

static int serve(natsConnection* nc, const arguments* args)
{
    natsSubscription* sub = NULL;
    natsStatus s = natsConnection_SubscribeSync(&sub, nc, args->subject);
    if (s == NATS_OK) s = natsConnection_FlushTimeout(nc, 2000);
    if (s != NATS_OK)
    {
        fprintf(stderr, "nats_echo_responder: subscribe to %s failed: %s\n", args->subject,
                natsStatus_GetText(s));
        natsSubscription_Destroy(sub);
        return 1;
    }
    printf("ready\n");
    fflush(stdout);

    long served = 0;
    int64_t deadline = nats_Now() + args->timeout_ms;
    while (args->count == 0 || served < args->count)
    {
        int64_t left = deadline - nats_Now();
        natsMsg* msg = NULL;
        if (left <= 0 || natsSubscription_NextMsg(&msg, sub, left) != NATS_OK) break;
        const char* reply = natsMsg_GetReply(msg);
        if (reply != NULL)
            natsConnection_Publish(nc, reply, natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
        natsMsg_Destroy(msg);
        ++served;
    }
    natsConnection_FlushTimeout(nc, 2000);
    natsSubscription_Destroy(sub);
    if (args->count != 0 && served < args->count)
    {
        fprintf(stderr, "nats_echo_responder: timed out after serving %ld of %ld messages\n", served,
                args->count);
        return 3;
    }
    return 0;
}

static int request(natsConnection* nc, const arguments* args)
{
    natsMsg* reply = NULL;
    int length = (int)strlen(args->request_body);
    natsStatus s =
        natsConnection_Request(&reply, nc, args->subject, args->request_body, length, args->timeout_ms);
    if (s != NATS_OK)
    {
        fprintf(stderr, "nats_echo_responder: request on %s failed: %s\n", args->subject,
                natsStatus_GetText(s));
        return 1;
    }
    int same = natsMsg_GetDataLength(reply) == length &&
               memcmp(natsMsg_GetData(reply), args->request_body, (size_t)length) == 0;
    printf("%.*s\n", natsMsg_GetDataLength(reply), natsMsg_GetData(reply));
    natsMsg_Destroy(reply);
    return same ? 0 : 1;
}

int main(int argc, char** argv)
{
    arguments args;
    if (!parse_arguments(argc, argv, &args))
    {
        usage(stderr);
        return 2;
    }
    natsOptions* opts = NULL;
    natsConnection* nc = NULL;
    natsStatus s = make_options(&args, &opts);
    if (s == NATS_OK) s = natsConnection_Connect(&nc, opts);
    if (s == NATS_OK && args.ping) s = natsConnection_FlushTimeout(nc, 2000);
    if (s != NATS_OK)
    {
        const char* detail = nats_GetLastError(NULL);
        fprintf(stderr, "nats_echo_responder: connection to %s failed: %s%s%s\n", args.server,
                natsStatus_GetText(s), detail != NULL ? ": " : "", detail != NULL ? detail : "");
        natsConnection_Destroy(nc);
        natsOptions_Destroy(opts);
        return 1;
    }
    int rc = 0;
    if (args.ping)
        printf("pong\n");
    else if (args.request_body != NULL)
        rc = request(nc, &args);
    else
        rc = serve(nc, &args);
    natsConnection_Destroy(nc);
    natsOptions_Destroy(opts);
    nats_Close();
    return rc;
}

#include "beamline/app/config.hpp"
#include "source_tree.hpp"
#include "temp_dir.hpp"

#include <boost/test/unit_test.hpp>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

using namespace beamline::app;
using namespace std::chrono_literals;
using beamline::test::temp_dir;

namespace
{

config load_ok(const config_sources& sources)
{
    auto result = load_config(sources);
    BOOST_TEST_REQUIRE(result.has_value(), (result ? "" : result.error().message));
    return *result;
}

std::string load_error(const config_sources& sources)
{
    auto result = load_config(sources);
    BOOST_TEST_REQUIRE(result.has_error());
    return result.error().message;
}

std::filesystem::path example_config()
{
    return beamline::test::source_tree() / "config/router.conf";
}

} // namespace

BOOST_AUTO_TEST_SUITE(configuration)

BOOST_AUTO_TEST_CASE(defaults_without_any_source)
{
    const config c = load_ok({});
    BOOST_TEST(c.nats.url == std::vector<std::string>{"nats://127.0.0.1:4222"});
    BOOST_TEST(c.nats.user.empty());
    BOOST_TEST(c.nats.connect_timeout_ms.count() == 2000);
    BOOST_TEST(c.nats.ping_interval_ms.count() == 120'000);
    BOOST_TEST(c.nats.max_pings_out == 2u);
    BOOST_TEST(c.nats.reconnect_wait_ms.count() == 2000);
    BOOST_TEST(c.nats.reconnect_jitter_ms.count() == 100);
    BOOST_TEST(c.nats.max_reconnect == 60);
    BOOST_TEST(c.nats.reconnect_buffer_bytes == 8u * 1024 * 1024);
    BOOST_TEST(c.router.decide_subject == "beamline.router.v1.decide");
    BOOST_TEST(c.router.queue_group == "beamline-router");
    BOOST_TEST(c.router.policies_dir == "./policies");
    BOOST_TEST(c.router.threads == std::max(1u, std::thread::hardware_concurrency()));
    BOOST_TEST(c.router.max_payload == 1048576u);
    BOOST_TEST(c.router.assignment_subject == "caf.exec.assign.v1");
    BOOST_TEST(c.router.assignment_subject_prefix == "caf.exec.assign.");
    BOOST_TEST(c.router.idempotency_ttl_s.count() == 3600);
    BOOST_TEST(c.router.tenants_allow.empty());
    BOOST_TEST(to_string(c.http.listen) == "0.0.0.0:8080");
    BOOST_TEST(c.http.admin_token.empty());
    BOOST_TEST(c.http.request_timeout_ms.count() == 10'000);
    BOOST_TEST(c.http.body_limit == 1048576u);
    BOOST_TEST(c.log.level == "info");
    BOOST_TEST(c.log.file == "stderr");
}

BOOST_AUTO_TEST_CASE(flags_beat_environment_beat_file)
{
    temp_dir dir;
    const auto file = dir.write("router.conf", "[nats]\nmax_pings_out = 3\nurl = nats://file:4222\n");
    config_sources sources;
    sources.file = file;
    BOOST_TEST(load_ok(sources).nats.max_pings_out == 3u);
    BOOST_TEST(load_ok(sources).nats.url == std::vector<std::string>{"nats://file:4222"});

    sources.environment = {{"BEAMLINE_NATS_MAX_PINGS_OUT", "4"}};
    BOOST_TEST(load_ok(sources).nats.max_pings_out == 4u);
    BOOST_TEST(load_ok(sources).nats.url == std::vector<std::string>{"nats://file:4222"});

    sources.flags = {"--nats.max_pings_out", "5"};
    BOOST_TEST(load_ok(sources).nats.max_pings_out == 5u);
    sources.flags = {"--nats.max_pings_out=6"};
    BOOST_TEST(load_ok(sources).nats.max_pings_out == 6u);
}

BOOST_AUTO_TEST_CASE(environment_alone_configures_tls)
{
    config_sources sources;
    sources.environment = {{"BEAMLINE_NATS_URL", "tls://nats.example:4222"},
                           {"BEAMLINE_NATS_TLS_CA", "ca.pem"},
                           {"BEAMLINE_HTTP_LISTEN", "127.0.0.1:9090"},
                           {"PATH", "/usr/bin"},
                           {"BEAMLINE_ROOT", "/src"},
                           {"BEAMLINE_ROUTER_BIN", "/bin/x"}};
    const config c = load_ok(sources);
    BOOST_TEST(c.nats.url == std::vector<std::string>{"tls://nats.example:4222"});
    BOOST_TEST(c.nats.tls_ca == "ca.pem");
    BOOST_TEST(c.http.listen.host == "127.0.0.1");
    BOOST_TEST(c.http.listen.port == 9090);
}

BOOST_AUTO_TEST_CASE(comma_lists_are_trimmed_and_skip_empty_items)
{
    config_sources sources;
    sources.flags = {"--nats.url= nats://a:4222 ,, tls://b:4223,", "--router.tenants_allow", "t1, t2 ,t3"};
    const config c = load_ok(sources);
    BOOST_TEST(c.nats.url == (std::vector<std::string>{"nats://a:4222", "tls://b:4223"}));
    BOOST_TEST(c.router.tenants_allow == (std::vector<std::string>{"t1", "t2", "t3"}));
}

BOOST_AUTO_TEST_CASE(durations_sizes_and_auto_threads_in_values)
{
    config_sources sources;
    sources.flags = {"--nats.connect_timeout_ms=3s", "--nats.reconnect_buffer_bytes=16MiB",
                     "--router.idempotency_ttl_s=2h", "--router.threads=auto", "--nats.max_reconnect=-1"};
    const config c = load_ok(sources);
    BOOST_TEST(c.nats.connect_timeout_ms.count() == 3000);
    BOOST_TEST(c.nats.reconnect_buffer_bytes == 16u << 20);
    BOOST_TEST(c.router.idempotency_ttl_s.count() == 7200);
    BOOST_TEST(c.router.threads >= 1u);
    BOOST_TEST(c.nats.max_reconnect == -1);
}

BOOST_AUTO_TEST_CASE(file_errors_name_file_line_and_key)
{
    temp_dir dir;
    config_sources sources;
    sources.file = dir.write("router.conf", "# comment\n[nats]\n\nurll = nats://x:4222\n");
    BOOST_TEST(load_error(sources) == "config file " + sources.file->string() +
                                          " line 4: unknown key \"nats.urll\" (did you mean \"nats.url\"?)");
    BOOST_TEST(load_config(sources).error().key == "nats.urll");

    sources.file = dir.write("bad_value.conf", "[nats]\nmax_pings_out = abc\n");
    BOOST_TEST(load_error(sources) == "config file " + sources.file->string() +
                                          " line 2: nats.max_pings_out: \"abc\" is not a whole number");

    sources.file = dir.write("section.conf", "[natz]\nurl = x\n");
    BOOST_TEST(
        load_error(sources) ==
        "config file " + sources.file->string() +
            " line 1: unknown section \"[natz]\" (sections: [nats], [router], [http], [jetstream], [log], [backpressure])");

    sources.file = dir.write("dup.conf", "[log]\nlevel = info\nlevel = debug\n");
    BOOST_TEST(load_error(sources) ==
               "config file " + sources.file->string() + " line 3: \"log.level\" is already set on line 2");

    sources.file = dir.write("garbage.conf", "[log]\njust words\n");
    BOOST_TEST(load_error(sources) == "config file " + sources.file->string() +
                                          " line 2: expected \"key = value\", found \"just words\"");

    sources.file = dir.path();
    BOOST_TEST(load_error(sources) ==
               "config file " + sources.file->string() + ": is a directory, not a file");

    sources.file = dir.path() / "missing.conf";
    BOOST_TEST(load_error(sources) ==
               "config file " + sources.file->string() + ": cannot be read: No such file or directory");
}

BOOST_AUTO_TEST_CASE(file_accepts_dotted_keys_quotes_and_crlf)
{
    temp_dir dir;
    config_sources sources;
    sources.file = dir.write("router.conf", "log.level = debug\r\n[nats]\r\nname = \" spaced name \"\r\n");
    const config c = load_ok(sources);
    BOOST_TEST(c.log.level == "debug");
    BOOST_TEST(c.nats.name == " spaced name ");
}

BOOST_AUTO_TEST_CASE(environment_errors_name_the_variable)
{
    config_sources sources;
    sources.environment = {{"BEAMLINE_NATS_MAX_PINGS_OUT", "abc"}};
    BOOST_TEST(load_error(sources) == "BEAMLINE_NATS_MAX_PINGS_OUT: \"abc\" is not a whole number");
    BOOST_TEST(load_config(sources).error().key == "nats.max_pings_out");
    BOOST_TEST(load_config(sources).error().source == "BEAMLINE_NATS_MAX_PINGS_OUT");

    sources.environment = {{"BEAMLINE_NATS_URLL", "nats://x:1"}};
    BOOST_TEST(load_error(sources) ==
               "BEAMLINE_NATS_URLL: unknown key \"nats.urll\" (did you mean \"nats.url\"?)");

    sources.environment = {{"BEAMLINE_HTTP_LISTEN", "8080"}};
    BOOST_TEST(load_error(sources) ==
               "BEAMLINE_HTTP_LISTEN: listen address \"8080\": missing port (expected host:port)");
}

BOOST_AUTO_TEST_CASE(a_variable_with_an_unknown_section_is_refused)
{
    // A typo in the section is as wrong as one in the key: the value would be silently ignored.
    config_sources sources;
    sources.environment = {{"BEAMLINE_NAT_URL", "nats://x:4222"}};
    BOOST_TEST(load_error(sources) ==
               "BEAMLINE_NAT_URL: unknown section \"nat\" in BEAMLINE_NAT_URL "
               "(sections: NATS, ROUTER, HTTP, JETSTREAM, LOG, BACKPRESSURE); did you mean BEAMLINE_NATS_URL?");
    BOOST_TEST(load_config(sources).error().source == "BEAMLINE_NAT_URL");
    sources.environment = {{"BEAMLINE_ROUTR_THREADS", "2"}};
    BOOST_TEST(load_error(sources).find("did you mean BEAMLINE_ROUTER_THREADS?") != std::string::npos);
    sources.environment = {{"BEAMLINE_FOO_BAR", "1"}};
    BOOST_TEST(load_error(sources) == "BEAMLINE_FOO_BAR: unknown section \"foo\" in BEAMLINE_FOO_BAR "
                                      "(sections: NATS, ROUTER, HTTP, JETSTREAM, LOG, BACKPRESSURE)");
    sources.environment = {{"BEAMLINE_ROUTER_FOO", "1"}};
    BOOST_TEST(load_error(sources).find("unknown key \"router.foo\"") != std::string::npos);
    // The scripts' and tests' own variables, and names of another shape, are not configuration.
    sources.environment = {{"BEAMLINE_ROUTER_BIN", "/x"},
                           {"BEAMLINE_NATS_BENCH", "/y"},
                           {"BEAMLINE_LIBNATS_LOADGEN", "/w"},
                           {"BEAMLINE_TEST_KEEP_DIRS", "1"},
                           {"BEAMLINE_TEST_NATS_LOG", "always"},
                           {"BEAMLINE_ROOT", "/src"},
                           {"BEAMLINE_LOADGEN", "/z"},
                           {"BEAMLINE_", "x"},
                           {"BEAMLINE__X", "y"}};
    BOOST_TEST(load_config(sources).has_value());
}

BOOST_AUTO_TEST_CASE(values_are_refused_where_the_component_would_refuse_them)
{
    struct vector
    {
        std::string flag;
        std::string error;
    };
    const std::vector<vector> vectors = {
        // The NATS client refuses port 0, other schemes and malformed hosts.
        {"--nats.url=nats://127.0.0.1:0",
         "flag --nats.url: \"nats://127.0.0.1:0\": port 0 is not a server port (1 to 65535)"},
        {"--nats.url=nats://a:4222,nats://h!st:4222", "flag --nats.url: \"nats://h!st:4222\": host \"h!st\""},
        {"--nats.url=ws://a:4222", "flag --nats.url: \"ws://a:4222\" has scheme \"ws\""},
        // The router refuses a wildcard character anywhere in a subject it publishes to.
        {"--router.assignment_subject=a.b*c",
         "flag --router.assignment_subject: \"a.b*c\" is not a subject to publish to"},
        {"--router.assignment_subject=a.>",
         "flag --router.assignment_subject: \"a.>\" is not a subject to publish to"},
        {"--router.assignment_subject_prefix=caf.*.",
         "flag --router.assignment_subject_prefix: \"caf.*.\" is not a subject prefix"},
        {"--router.assignment_subject=" + std::string(1025, 'a'), "bytes, above the 1024-byte limit"},
        // The client subscribes with these: a subscribe subject and a queue group token.
        {"--router.decide_subject=a.>.b",
         "flag --router.decide_subject: \"a.>.b\" is not a subject to subscribe to"},
        {"--router.decide_subject=a.b*",
         "flag --router.decide_subject: \"a.b*\" is not a subject to subscribe to"},
        {"--router.queue_group=q.group", "flag --router.queue_group: \"q.group\" is not a valid name"},
        {"--router.queue_group=q g", "flag --router.queue_group: \"q g\" is not a valid name"},
        // The router admits only tenant ids; an entry it can never match is a typo.
        {"--router.tenants_allow=a/b", "flag --router.tenants_allow: entry \"a/b\" is not a tenant id"},
        {"--router.tenants_allow=a,,b", "flag --router.tenants_allow: entry 2 is empty"},
        {"--router.tenants_allow=a,b,", "flag --router.tenants_allow: entry 3 is empty"},
    };
    for (const auto& v : vectors)
    {
        config_sources sources;
        sources.flags = {v.flag};
        const std::string error = load_error(sources);
        BOOST_TEST(error.find(v.error) != std::string::npos, v.flag << " -> " << error);
    }
    config_sources fine;
    fine.flags = {"--router.decide_subject=beamline.router.*.decide",
                  "--router.assignment_subject=caf.exec.v2", "--router.tenants_allow=acme, t_2.x",
                  "--nats.url=tls://nats-1.internal:4443"};
    const config c = load_ok(fine);
    BOOST_TEST(c.router.decide_subject == "beamline.router.*.decide");
    BOOST_TEST(c.router.tenants_allow == (std::vector<std::string>{"acme", "t_2.x"}));
    fine.flags = {"--router.tenants_allow="};
    BOOST_TEST(load_ok(fine).router.tenants_allow.empty());
}

BOOST_AUTO_TEST_CASE(startup_files_must_exist_and_be_readable)
{
    temp_dir dir;
    config cfg = default_config();
    BOOST_TEST(!check_startup_files(cfg), "no TLS file configured, nothing to check");
    cfg.nats.tls_ca = (dir.path() / "missing-ca.pem").string();
    auto err = check_startup_files(cfg);
    BOOST_TEST_REQUIRE(err.has_value());
    BOOST_TEST(err->key == "nats.tls_ca");
    BOOST_TEST(err->message == "nats.tls_ca: file \"" + cfg.nats.tls_ca + "\" does not exist");
    cfg.nats.tls_ca = dir.write("ca.pem", "-----BEGIN CERTIFICATE-----\n").string();
    BOOST_TEST(!check_startup_files(cfg));
    cfg.nats.tls_cert = dir.path().string();
    err = check_startup_files(cfg);
    BOOST_TEST_REQUIRE(err.has_value());
    BOOST_TEST(err->message == "nats.tls_cert: \"" + cfg.nats.tls_cert + "\" is not a regular file");
    cfg.nats.tls_cert = dir.write("cert.pem", "x").string();
    cfg.nats.tls_key = (dir.path() / "nope" / "key.pem").string();
    err = check_startup_files(cfg);
    BOOST_TEST_REQUIRE(err.has_value());
    BOOST_TEST(err->key == "nats.tls_key");
}

BOOST_AUTO_TEST_CASE(flag_errors_name_the_flag)
{
    config_sources sources;
    sources.flags = {"--nats.urll=x"};
    BOOST_TEST(load_error(sources) ==
               "flag --nats.urll: unknown key \"nats.urll\" (did you mean \"nats.url\"?)");
    sources.flags = {"--log.level"};
    BOOST_TEST(load_error(sources) == "flag --log.level: needs a value");
    sources.flags = {"--log.level=loud"};
    BOOST_TEST(load_error(sources) ==
               "flag --log.level: \"loud\" is not a level (debug, info, warn or error)");
    sources.flags = {"--nats.max_pings_out=0"};
    BOOST_TEST(load_error(sources) == "flag --nats.max_pings_out: \"0\" is out of range (1 to 1000)");
    sources.flags = {"--router.threads=0"};
    BOOST_TEST(load_error(sources) == "flag --router.threads: \"0\" is out of range (1 to 1024)");
    sources.flags = {"--router.decide_subject=a..b"};
    BOOST_TEST(
        load_error(sources) ==
        "flag --router.decide_subject: \"a..b\" is not a subject to subscribe to: dot-separated tokens, "
        "no empty token, no blank or control character, * and > only as whole tokens, > last");
    sources.flags = {"--router.assignment_subject_prefix=caf.exec"};
    BOOST_TEST(
        load_error(sources) ==
        "flag --router.assignment_subject_prefix: \"caf.exec\" must end with \".\" (it is a subject prefix)");
    sources.flags = {"--nats.url=http://x:4222"};
    BOOST_TEST(load_error(sources) ==
               "flag --nats.url: \"http://x:4222\" has scheme \"http\"; use nats:// or tls://");
    sources.flags = {"--nats.url=, ,"};
    BOOST_TEST(load_error(sources) == "flag --nats.url: needs at least one server URL");
    sources.flags = {"--router.idempotency_ttl_s=1500ms"};
    BOOST_TEST(load_error(sources) ==
               "flag --router.idempotency_ttl_s: \"1500ms\" is not a whole number of seconds (at least 1)");
    sources.flags = {"--http.body_limit=1MB"};
    BOOST_TEST(load_error(sources) == "flag --http.body_limit: \"1MB\" is ambiguous: write KiB, MiB or GiB "
                                      "(powers of 1024) or a byte count");
    sources.flags = {"stray"};
    BOOST_TEST(load_error(sources) == "flag stray: expected --section.key=value");
}

BOOST_AUTO_TEST_CASE(cross_field_errors_name_the_source_of_the_key)
{
    config_sources sources;
    sources.environment = {{"BEAMLINE_NATS_TLS_CERT", "client.pem"}};
    BOOST_TEST(load_error(sources) == "BEAMLINE_NATS_TLS_CERT: nats.tls_cert is set but nats.tls_key is not: "
                                      "a client certificate needs its key");
    sources.environment.clear();
    sources.flags = {"--nats.tls_key=client.key"};
    BOOST_TEST(load_error(sources) == "flag --nats.tls_key: nats.tls_key is set but nats.tls_cert is not: "
                                      "a client key needs its certificate");
    sources.flags = {"--nats.user=u"};
    BOOST_TEST(load_error(sources) == "flag --nats.user: nats.user is set but nats.password is not");
    sources.flags = {"--nats.user=u", "--nats.password=p", "--nats.token=t"};
    BOOST_TEST(load_error(sources) == "flag --nats.token: nats.token and nats.user are both set: use either "
                                      "a token or a user and password");
}

BOOST_AUTO_TEST_CASE(listen_addresses)
{
    // http.listen refuses what the HTTP server would refuse (common::parse_listen_address).
    config_sources sources;
    sources.flags = {"--http.listen=[::1]:8080"};
    BOOST_TEST((load_ok(sources).http.listen == host_port{"::1", 8080}));
    sources.flags = {"--http.listen=:0"};
    BOOST_TEST((load_ok(sources).http.listen == host_port{"0.0.0.0", 0}));
    sources.flags = {"--http.listen=localhost:65535"};
    BOOST_TEST((load_ok(sources).http.listen == host_port{"localhost", 65535}));
    for (std::string bad : {"localhost:65536", "localhost", "::1:80", "host:", "example.com:80"})
    {
        sources.flags = {"--http.listen=" + bad};
        const std::string error = load_error(sources);
        BOOST_TEST(error.find("flag --http.listen: listen address \"" + bad + "\"") == 0u, error);
    }
    BOOST_TEST(to_string(host_port{"::1", 80}) == "[::1]:80");
}

BOOST_AUTO_TEST_CASE(listen_hosts_with_control_or_non_address_bytes_are_refused)
{
    using namespace std::string_view_literals;
    using beamline::common::parse_listen_address;
    // Found by fuzzing the configuration reader: the bracketed host took any bytes, NUL included,
    // and the rendered configuration could not be read back.
    BOOST_TEST(!parse_listen_address("[\0\0r instance]:8080"sv).ok());
    BOOST_TEST(!parse_listen_address("[not-v6]:8080").ok());
    BOOST_TEST(!parse_listen_address("host\x01name:80").ok());
    BOOST_TEST(!parse_listen_address("h\xC3\xA9te:80").ok());
    BOOST_TEST_REQUIRE(parse_listen_address("[::ffff:127.0.0.1]:80").ok());
    BOOST_TEST(parse_listen_address("[::ffff:127.0.0.1]:80").value().host == "::ffff:127.0.0.1");
    BOOST_TEST_REQUIRE(parse_listen_address("[FE80::1]:80").ok());
    BOOST_TEST(parse_listen_address("[FE80::1]:80").value().port == 80);
}

BOOST_AUTO_TEST_CASE(rendering_masks_secrets)
{
    config_sources sources;
    sources.flags = {"--nats.user=alice", "--nats.password=hunter2", "--http.admin_token=adm1n-s3cret",
                     "--nats.url=nats://bob:pa55@h1:4222,nats://t0ken@h2:4222"};
    const std::string text = render_config(load_ok(sources));
    BOOST_TEST(text.find("hunter2") == std::string::npos);
    BOOST_TEST(text.find("adm1n-s3cret") == std::string::npos);
    BOOST_TEST(text.find("pa55") == std::string::npos);
    BOOST_TEST(text.find("t0ken") == std::string::npos);
    BOOST_TEST(text.find("password = ***\n") != std::string::npos);
    BOOST_TEST(text.find("admin_token = ***\n") != std::string::npos);
    BOOST_TEST(text.find("token = \n") != std::string::npos);
    BOOST_TEST(text.find("url = nats://bob:***@h1:4222,nats://***@h2:4222\n") != std::string::npos);
    BOOST_TEST(text.find("user = alice\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(rendered_config_loads_back_to_the_same_config)
{
    temp_dir dir;
    config_sources sources;
    sources.flags = {"--nats.url=nats://a:1,tls://b:2",
                     "--router.tenants_allow=t1,t2",
                     "--http.listen=[::1]:81",
                     "--nats.reconnect_buffer_bytes=1500",
                     "--log.level=warn",
                     "--nats.name= padded ",
                     "--router.policies_dir=\"quoted\""};
    const std::string first = render_config(load_ok(sources));
    config_sources again;
    again.file = dir.write("rendered.conf", first);
    const config reloaded = load_ok(again);
    BOOST_TEST(render_config(reloaded) == first);
    BOOST_TEST(reloaded.nats.name == " padded ");
    BOOST_TEST(reloaded.router.policies_dir == "\"quoted\"");
}

BOOST_AUTO_TEST_CASE(example_file_documents_every_key_with_its_default)
{
    std::ifstream in(example_config());
    BOOST_TEST_REQUIRE(in.good(), "cannot open " << example_config());
    // Uncommenting every "# key = value" line must give exactly the defaults.
    std::string line, uncommented;
    std::set<std::string> documented;
    std::string section;
    const std::regex commented_key("# ([a-z0-9_]+) =( .*)?");
    while (std::getline(in, line))
    {
        if (line.starts_with("[")) section = line.substr(1, line.find(']') - 1);
        if (std::smatch m; std::regex_match(line, m, commented_key))
        {
            documented.insert(section + "." + m[1].str());
            line = line.substr(2);
        }
        uncommented += line + "\n";
    }
    for (const auto& key : config_keys())
        BOOST_TEST(documented.count(key.name) == 1u, key.name << " is missing from config/router.conf");
    BOOST_TEST(documented.size() == config_keys().size());

    temp_dir dir;
    config_sources sources;
    sources.file = dir.write("router.conf", uncommented);
    BOOST_TEST(render_config(load_ok(sources)) == render_config(default_config()));
    sources.file = example_config();
    BOOST_TEST(render_config(load_ok(sources)) == render_config(default_config()));
}

BOOST_AUTO_TEST_CASE(config_arguments_are_taken_out_of_a_command_line)
{
    std::vector<std::string> args{"run",        "--config",       "r.conf", "--nats.url",
                                  "nats://x:1", "--timeout",      "5s",     "--log.level=debug",
                                  "--",         "--http.listen=x"};
    const config_sources sources = take_config_arguments(args);
    BOOST_TEST(sources.file.value() == "r.conf");
    BOOST_TEST(sources.flags == (std::vector<std::string>{"--nats.url", "nats://x:1", "--log.level=debug"}));
    BOOST_TEST(args == (std::vector<std::string>{"run", "--timeout", "5s", "--", "--http.listen=x"}));
}

BOOST_AUTO_TEST_CASE(key_list_carries_environment_names_and_defaults)
{
    bool found = false;
    for (const auto& key : config_keys())
        if (key.name == "nats.tls_ca")
        {
            found = true;
            BOOST_TEST(key.env == "BEAMLINE_NATS_TLS_CA");
            BOOST_TEST(!key.help.empty());
        }
        else if (key.name == "nats.reconnect_buffer_bytes")
            BOOST_TEST(key.default_value == "8MiB");
    BOOST_TEST(found);
}

BOOST_AUTO_TEST_SUITE_END()

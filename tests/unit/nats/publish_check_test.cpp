// What the server would refuse, refused before writing: control-line length (at the exact
// boundary, computed against the encoder's real output), max_payload, headers, subjects.

#include <beamline/nats/error.hpp>
#include <beamline/nats/protocol/encoder.hpp>
#include <beamline/nats/protocol/publish_check.hpp>
#include <boost/test/unit_test.hpp>

#include <string>

using namespace beamline::nats;
using namespace beamline::nats::protocol;

namespace
{
/// The control line the encoder really writes for a PUB, CRLF included.
std::size_t encoded_pub_line(std::string_view subject, std::string_view reply, std::size_t payload)
{
    std::string out;
    encode_pub(out, subject, reply, std::string(payload, 'x'));
    return out.find("\r\n") + 2;
}
std::size_t encoded_hpub_line(std::string_view subject, std::string_view reply, std::size_t hsize, std::size_t total)
{
    std::string out;
    encode_hpub_line(out, subject, reply, hsize, total);
    return out.size();
}
std::size_t encoded_sub_line(std::string_view subject, std::string_view queue, std::uint64_t sid)
{
    std::string out;
    encode_sub(out, subject, queue, sid);
    return out.size();
}
std::string subject_of(std::size_t n) { return "a." + std::string(n - 2, 'b'); }
} // namespace

BOOST_AUTO_TEST_SUITE(publish_checks)

BOOST_AUTO_TEST_CASE(line_sizes_match_what_the_encoder_writes)
{
    for (std::string reply : {"", "r.1"})
        for (std::size_t payload : {0u, 9u, 10u, 123456u})
            BOOST_TEST(pub_line_size("x.y", reply.size(), false, 0, payload) == encoded_pub_line("x.y", reply, payload));
    BOOST_TEST(pub_line_size("x.y", 3, true, 12, 99) == encoded_hpub_line("x.y", "r.1", 12, 99));
    BOOST_TEST(pub_line_size("x.y", 0, true, 12, 1000) == encoded_hpub_line("x.y", "", 12, 1000));
    BOOST_TEST(sub_line_size("x.>", "q", 42) == encoded_sub_line("x.>", "q", 42));
    BOOST_TEST(sub_line_size("x.>", "", 7) == encoded_sub_line("x.>", "", 7));
}

BOOST_AUTO_TEST_CASE(a_control_line_over_4096_bytes_is_refused_and_one_at_the_limit_is_not)
{
    server_limits limits;
    // "PUB " + subject + " " + "5" + CRLF = subject + 8.
    BOOST_TEST(!check_publish(subject_of(4096 - 8), {}, nullptr, 5, limits));
    BOOST_TEST(check_publish(subject_of(4096 - 7), {}, nullptr, 5, limits) == make_error_code(errc::control_line_exceeded));
    BOOST_TEST(check_publish(subject_of(5000), {}, nullptr, 5, limits) == make_error_code(errc::control_line_exceeded));
    // The reply counts, also when only its size is known (a request's inbox).
    BOOST_TEST(check_publish(subject_of(3000), subject_of(1200), nullptr, 5, limits) ==
               make_error_code(errc::control_line_exceeded));
    BOOST_TEST(check_publish(subject_of(3000), {}, nullptr, 5, limits, 1200) ==
               make_error_code(errc::control_line_exceeded));
    BOOST_TEST(!check_publish(subject_of(3000), {}, nullptr, 5, limits, 50));
    // HPUB's line is longer by the header size field.
    headers h;
    h.add("K", "v");
    std::size_t hsize = h.encoded_size();
    std::size_t fits = 4096 - pub_line_size("", 0, true, hsize, hsize + 5);
    BOOST_TEST(!check_publish(subject_of(fits), {}, &h, 5, limits));
    BOOST_TEST(check_publish(subject_of(fits + 1), {}, &h, 5, limits) == make_error_code(errc::control_line_exceeded));
    BOOST_TEST(make_error_code(errc::control_line_exceeded).message().find("4096") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(payload_and_headers_over_max_payload_are_refused)
{
    server_limits limits{1000, true};
    BOOST_TEST(!check_publish("a", {}, nullptr, 1000, limits));
    BOOST_TEST(check_publish("a", {}, nullptr, 1001, limits) == make_error_code(errc::max_payload_exceeded));
    headers h;
    h.add("Key", std::string(2000, 'v')); // headers alone too large
    BOOST_TEST(check_publish("a", {}, &h, 0, limits) == make_error_code(errc::max_payload_exceeded));
    headers small;
    small.add("Key", "v");
    BOOST_TEST(check_publish("a", {}, &small, 1000 - small.encoded_size() + 1, limits) ==
               make_error_code(errc::max_payload_exceeded));
    BOOST_TEST(!check_publish("a", {}, &small, 1000 - small.encoded_size(), limits));
}

BOOST_AUTO_TEST_CASE(headers_the_server_cannot_take_are_refused)
{
    headers h;
    h.add("Key", "v");
    BOOST_TEST(check_publish("a", {}, &h, 1, server_limits{1024, false}) == make_error_code(errc::headers_not_supported));
    headers bad;
    bad.add("Bad Key", "v");
    BOOST_TEST(check_publish("a", {}, &bad, 1, server_limits{}) == make_error_code(errc::invalid_header_key));
    headers colon;
    colon.add("a:b", "v");
    BOOST_TEST(check_publish("a", {}, &colon, 1, server_limits{}) == make_error_code(errc::invalid_header_key));
}

BOOST_AUTO_TEST_CASE(invalid_subjects_are_refused)
{
    for (std::string s : {"", "a b", "a..b", "a.*", "a.>", "a\r\nPUB x 1"})
        BOOST_TEST(check_publish(s, {}, nullptr, 1, server_limits{}) == make_error_code(errc::invalid_subject), s);
    BOOST_TEST(check_publish("a", "r *", nullptr, 1, server_limits{}) == make_error_code(errc::invalid_subject));
    BOOST_TEST(!check_publish("a", "r.1", nullptr, 1, server_limits{}));
}

BOOST_AUTO_TEST_CASE(subscriptions_are_checked_for_syntax_and_line_length)
{
    server_limits limits;
    BOOST_TEST(!check_subscribe("a.*.>", "", limits));
    BOOST_TEST(!check_subscribe("a.b", "workers", limits));
    BOOST_TEST(check_subscribe("a.>.b", "", limits) == make_error_code(errc::invalid_subject));
    BOOST_TEST(check_subscribe("a.b", "bad queue", limits) == make_error_code(errc::invalid_subject));
    BOOST_TEST(check_subscribe(subject_of(5000), "", limits) == make_error_code(errc::control_line_exceeded));
    BOOST_TEST(check_subscribe(subject_of(2000), std::string(2100, 'q'), limits) ==
               make_error_code(errc::control_line_exceeded));
    BOOST_TEST(!check_subscribe(subject_of(4000), "", limits));
}

BOOST_AUTO_TEST_SUITE_END()

#include <beamline/nats/sansio/read_buffer.hpp>
#include <boost/test/unit_test.hpp>
#include <cstring>
#include <string>

using beamline::nats::sansio::read_buffer;

namespace
{

void append(read_buffer& rb, std::string_view bytes)
{
    auto space = rb.prepare();
    BOOST_TEST_REQUIRE(space.size() >= bytes.size());
    std::memcpy(space.data(), bytes.data(), bytes.size());
    rb.commit(bytes.size());
}

std::string pattern(std::size_t n, std::size_t offset = 0)
{
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i)
        s[i] = static_cast<char>('A' + (i + offset) % 53);
    return s;
}

} // namespace

BOOST_AUTO_TEST_SUITE(nats_read_buffer)

BOOST_AUTO_TEST_CASE(consume_all_rewinds)
{
    read_buffer rb(32);
    append(rb, "PING\r\n");
    BOOST_TEST(rb.data() == "PING\r\n");
    rb.consume(4);
    BOOST_TEST(rb.data() == "\r\n");
    rb.consume(2);
    BOOST_TEST(rb.data().empty());
}

BOOST_AUTO_TEST_CASE(compaction_keeps_unread_bytes)
{
    read_buffer rb(64 * 1024);
    const std::size_t cap = rb.capacity();
    // Fill most of the buffer, then read all but a tail so the next prepare must compact.
    std::string first = pattern(cap - 1000);
    append(rb, first);
    rb.consume(first.size() - 100);
    std::string unread(rb.data());
    BOOST_TEST(unread == first.substr(first.size() - 100));

    auto space = rb.prepare();
    BOOST_TEST(rb.data() == unread);
    BOOST_TEST(space.size() >= 16u * 1024);
    BOOST_TEST(rb.capacity() == cap); // compaction alone made room
    std::string more = pattern(5000, 7);
    std::memcpy(space.data(), more.data(), more.size());
    rb.commit(more.size());
    BOOST_TEST(rb.data() == unread + more);
}

BOOST_AUTO_TEST_CASE(growth_for_a_large_message_keeps_unread_bytes)
{
    read_buffer rb(1024);
    std::string head = "MSG big 1 200000\r\n" + pattern(500);
    append(rb, head);
    rb.consume(3);
    std::string unread = head.substr(3);

    const std::size_t needed = 200000 + 20;
    auto space = rb.prepare(needed);
    BOOST_TEST(rb.data() == unread);
    BOOST_TEST(rb.data().size() + space.size() >= needed);
    BOOST_TEST(rb.capacity() >= needed);

    // Repeated reads of whatever fits never lose or reorder bytes.
    std::string expected = unread;
    for (int i = 0; expected.size() < needed; ++i)
    {
        auto s = rb.prepare(needed);
        std::string chunk = pattern(std::min<std::size_t>(s.size(), 7000), static_cast<std::size_t>(i));
        std::memcpy(s.data(), chunk.data(), chunk.size());
        rb.commit(chunk.size());
        expected += chunk;
        BOOST_TEST_REQUIRE(rb.data() == expected);
    }
}

BOOST_AUTO_TEST_CASE(clear_drops_everything)
{
    read_buffer rb(128);
    append(rb, "abc");
    rb.clear();
    BOOST_TEST(rb.data().empty());
}

BOOST_AUTO_TEST_SUITE_END()

#include "beamline/common/units.hpp"

#include <boost/test/unit_test.hpp>

using namespace beamline::common;
using std::chrono::milliseconds;

BOOST_AUTO_TEST_SUITE(units)

BOOST_AUTO_TEST_CASE(durations_with_every_unit)
{
    BOOST_TEST(parse_duration("500ms").value().count() == 500);
    BOOST_TEST(parse_duration("5s").value().count() == 5000);
    BOOST_TEST(parse_duration("2m").value().count() == 120'000);
    BOOST_TEST(parse_duration("1h").value().count() == 3'600'000);
    BOOST_TEST(parse_duration("2min").value().count() == 120'000);
    BOOST_TEST(parse_duration("1d").value().count() == 86'400'000);
    BOOST_TEST(parse_duration("250").value().count() == 250);
    BOOST_TEST(parse_duration(" 3 s ").value().count() == 3000);
    BOOST_TEST(parse_duration("0").value().count() == 0);
}

BOOST_AUTO_TEST_CASE(bare_duration_counts_the_given_unit)
{
    BOOST_TEST(parse_duration("90", std::chrono::seconds{1}).value().count() == 90'000);
    BOOST_TEST(parse_duration("90ms", std::chrono::seconds{1}).value().count() == 90);
}

BOOST_AUTO_TEST_CASE(a_unit_can_be_required)
{
    // Policy files: a bare number in a duration string is refused rather than guessed at.
    BOOST_TEST(parse_duration("10", unit_required).error() ==
               "\"10\" needs a unit (use 500ms, 5s, 2m, 1h or 1d)");
    BOOST_TEST(parse_duration("10s", unit_required).value().count() == 10'000);
    BOOST_TEST(parse_duration("0s", unit_required).value().count() == 0);
}

BOOST_AUTO_TEST_CASE(duration_errors_say_what_is_expected)
{
    BOOST_TEST(parse_duration("abc").error() == "\"abc\" is not a duration (use 500ms, 5s, 2m, 1h or 1d)");
    BOOST_TEST(parse_duration("5x").error() == "\"5x\" is not a duration (use 500ms, 5s, 2m, 1h or 1d)");
    BOOST_TEST(parse_duration("").error() == "\"\" is not a duration (use 500ms, 5s, 2m, 1h or 1d)");
    BOOST_TEST(parse_duration("-5s").error() == "\"-5s\" is not a duration (use 500ms, 5s, 2m, 1h or 1d)");
    BOOST_TEST(parse_duration("1.5s").error() == "\"1.5s\" is not a duration (use 500ms, 5s, 2m, 1h or 1d)");
    BOOST_TEST(parse_duration("99999999999999999999").error() == "\"99999999999999999999\" is too large");
    BOOST_TEST(parse_duration("9999999999999999h").error() == "\"9999999999999999h\" is too large");
}

BOOST_AUTO_TEST_CASE(sizes_with_binary_units)
{
    BOOST_TEST(parse_size("8388608").value() == 8388608u);
    BOOST_TEST(parse_size("1MiB").value() == 1048576u);
    BOOST_TEST(parse_size("8 MiB").value() == 8388608u);
    BOOST_TEST(parse_size("64KiB").value() == 65536u);
    BOOST_TEST(parse_size("2G").value() == 2147483648u);
    BOOST_TEST(parse_size("10B").value() == 10u);
}

BOOST_AUTO_TEST_CASE(size_errors)
{
    BOOST_TEST(parse_size("1MB").error() ==
               "\"1MB\" is ambiguous: write KiB, MiB or GiB (powers of 1024) or a byte count");
    BOOST_TEST(parse_size("lots").error() == "\"lots\" is not a size (use a byte count, or KiB, MiB, GiB)");
    BOOST_TEST(parse_size("1TiB").error() == "\"1TiB\" is not a size (use a byte count, or KiB, MiB, GiB)");
    BOOST_TEST(parse_size("99999999999GiB").error() == "\"99999999999GiB\" is too large");
}

BOOST_AUTO_TEST_CASE(whole_numbers)
{
    BOOST_TEST(parse_whole_number("42").value() == 42u);
    BOOST_TEST(parse_whole_number("abc").error() == "\"abc\" is not a whole number");
    BOOST_TEST(parse_whole_number("4 2").error() == "\"4 2\" is not a whole number");
    BOOST_TEST(parse_whole_number("+4").error() == "\"+4\" is not a whole number");
}

BOOST_AUTO_TEST_CASE(formatting_reads_back)
{
    BOOST_TEST(format_duration(milliseconds{2000}) == "2s");
    BOOST_TEST(format_duration(milliseconds{1500}) == "1500ms");
    BOOST_TEST(format_duration(milliseconds{120'000}) == "2m");
    BOOST_TEST(format_duration(milliseconds{0}) == "0ms");
    BOOST_TEST(format_size(8388608) == "8MiB");
    BOOST_TEST(format_size(1500) == "1500");
    for (auto ms : {0, 1, 999, 1000, 61'000, 3'600'000})
        BOOST_TEST(parse_duration(format_duration(milliseconds{ms})).value().count() == ms);
}

BOOST_AUTO_TEST_SUITE_END()

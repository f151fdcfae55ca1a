#pragma once
// A policy store on disk, a fake clock, and recording fakes of the decide pipeline's transport, for
// the decide engine, pipeline and tenant registry tests.

#include "beamline/router/decide_pipeline.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace beamline::router::test
{

inline constexpr std::string_view one_provider_policy =
    R"({"version":"3","providers":[{"name":"openai","weight":1,"expected_latency_ms":250,"cost":0.002}]})";
inline constexpr std::string_view two_provider_policy =
    R"({"version":"3","providers":[{"name":"openai","weight":70},{"name":"anthropic","weight":30}]})";

/// A policies directory in a fresh temporary directory and the store reading it.
struct policy_files
{
    std::filesystem::path dir;
    policy_store store;

    policy_files() : dir(fresh_dir()), store(dir) {}
    ~policy_files()
    {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
    /// Writes `<tenant>/<policy>.json` and reloads the store.
    void put(const std::string& tenant, const std::string& policy, std::string_view json)
    {
        std::filesystem::create_directories(dir / tenant);
        std::ofstream(dir / tenant / (policy + ".json"), std::ios::trunc) << json;
        auto report = store.load_directory();
        BOOST_TEST_REQUIRE(report.ok());
    }

private:
    static std::filesystem::path fresh_dir()
    {
        std::random_device rd;
        auto p = std::filesystem::temp_directory_path() /
                 ("beamline-pipeline-" + std::to_string(rd()) + std::to_string(rd()));
        std::filesystem::create_directories(p);
        return p;
    }
};

/// Time that moves only when the test says so.
struct fake_clock
{
    std::chrono::steady_clock::time_point now = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
    void advance(std::chrono::steady_clock::duration d) { now += d; }
};

/// A decide request's JSON text: tenant, request id and extra members (e.g. R"("policy_id":"p")").
inline std::string request_json(const std::string& tenant, const std::string& request_id,
                                const std::string& extra = {})
{
    return R"({"version":"1","request_id":")" + request_id + R"(","tenant_id":")" + tenant +
           R"(","task":{"type":"chat","payload":{"prompt":"hi"}})" + (extra.empty() ? "" : "," + extra) + "}";
}

struct recorded_reply
{
    std::string address;
    std::string body;
    bool idempotent_replay = false;
    std::optional<reply_error> error;

    boost::json::object json() const { return boost::json::parse(body).as_object(); }
    std::string code() const
    {
        auto o = json();
        return o.at("ok").as_bool() ? "ok" : std::string(o.at("error").at("code").as_string());
    }
    std::string message() const { return std::string(json().at("error").at("message").as_string()); }
};

/// Records every reply; the tests count them per address.
struct recording_sink : reply_sink
{
    std::vector<recorded_reply> replies;
    publish_result send_reply(std::string_view address, const decide_outcome& out) noexcept override
    {
        replies.push_back({std::string(address), out.reply, out.idempotent_replay, out.error});
        return {};
    }
    std::map<std::string, int> per_address() const
    {
        std::map<std::string, int> n;
        for (const auto& r : replies)
            ++n[r.address];
        return n;
    }
    const recorded_reply& only(const std::string& address) const
    {
        const recorded_reply* found = nullptr;
        for (const auto& r : replies)
            if (r.address == address)
            {
                BOOST_TEST_REQUIRE(!found, "more than one reply to " << address);
                found = &r;
            }
        BOOST_TEST_REQUIRE(found, "no reply to " << address);
        return *found;
    }
};

/// Publishes ExecAssignments into a vector, or refuses them with `refuse`.
struct recording_publisher : assignment_publisher
{
    struct published
    {
        std::string subject;
        std::string body;
    };
    std::vector<published> assignments;
    int attempts = 0;
    publish_result refuse{};

    publish_result publish_assignment(std::string_view subject, std::string_view body,
                                      const assignment_headers&) noexcept override
    {
        ++attempts;
        if (!refuse.ok()) return refuse;
        assignments.push_back({std::string(subject), std::string(body)});
        return {};
    }
};

} // namespace beamline::router::test

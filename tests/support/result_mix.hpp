// The execution tier's traffic for results tests: `distinct` ExecResults with mixed statuses, 1 in
// 100 reported twice (the same body again) and 1 in 100 followed by an invalid result (no
// assignment_id nor request_id), in publishing order, with what the router must make of them.
#pragma once

#include <set>
#include <string>
#include <vector>

namespace beamline::test
{

inline const std::string invalid_result_body = R"({"version":"1","tenant_id":"acme","status":"success"})";
inline const std::string invalid_result_error = "a result needs assignment_id or request_id";

inline std::string result_json(const std::string& assignment_id, const std::string& status,
                               const std::string& provider = "openai", const std::string& error_code = "")
{
    std::string s = R"({"version":"1","assignment_id":")" + assignment_id +
                    R"(","tenant_id":"acme","provider_id":")" + provider + R"(","status":")" + status +
                    R"(","job":{"type":"text.generate"},"latency_ms":120,"cost":0.01)";
    if (!error_code.empty()) s += R"(,"error_code":")" + error_code + '"';
    return s + "}";
}

struct result_mix
{
    std::vector<std::string> bodies; ///< in publishing order
    int distinct = 0;
    int duplicates = 0;
    int invalid = 0;
    std::set<std::string> usage_ids; ///< one usage event each, no more

    std::size_t total() const { return bodies.size(); }
};

/// Statuses cycle success, error (HTTP_503: a provider fault), timeout, cancelled.
inline result_mix make_result_mix(int distinct, const std::string& id_prefix = "a-")
{
    static const char* statuses[] = {"success", "error", "timeout", "cancelled"};
    result_mix m;
    m.distinct = distinct;
    for (int i = 0; i < distinct; ++i)
    {
        auto id = id_prefix + std::to_string(i);
        m.bodies.push_back(result_json(id, statuses[i % 4], "openai", i % 4 == 1 ? "HTTP_503" : ""));
        m.usage_ids.insert("usage-acme-" + id);
        if (i % 100 == 7) // the execution tier reporting the same job twice
        {
            m.bodies.push_back(m.bodies.back());
            ++m.duplicates;
        }
        if (i % 100 == 42)
        {
            m.bodies.push_back(invalid_result_body);
            ++m.invalid;
        }
    }
    return m;
}

} // namespace beamline::test

#include "beamline/app/jetstream_setup.hpp"

#include "beamline/nats/jetstream/error.hpp"

#include <algorithm>

#include "beamline/nats/jetstream/detail/coroutine_frame_warning.hpp"

namespace beamline::app
{

namespace js = nats::jetstream;
using namespace std::chrono_literals;

std::vector<js::stream_config> router_streams(const jetstream_names& names)
{
    std::vector<js::stream_config> out(3);
    auto& results = out[0];
    results.name = names.results_stream;
    results.subjects = {names.results_subject};
    results.max_age = 24h;
    results.duplicate_window = 2min;
    auto& usage = out[1];
    usage.name = names.usage_stream;
    // The usage subject and its siblings (SPEC: beamline.usage.v1.>).
    auto dot = names.usage_subject.rfind('.');
    usage.subjects = {dot == std::string::npos ? names.usage_subject : names.usage_subject.substr(0, dot) + ".>"};
    usage.max_age = std::chrono::hours(24 * 7);
    usage.duplicate_window = 1h;
    auto& dlq = out[2];
    dlq.name = names.dlq_stream;
    dlq.subjects = {names.results_dlq_subject, names.decide_dlq_subject};
    dlq.max_age = std::chrono::hours(24 * 7);
    dlq.duplicate_window = 2min;
    for (auto& s : out)
    {
        s.retention = "limits";
        s.storage = "file";
        s.num_replicas = names.replicas;
    }
    return out;
}

stream_difference compare_stream(const js::stream_config& want, const js::stream_config& have)
{
    stream_difference d;
    if (want.storage != have.storage) d.conflicting.push_back("storage (" + have.storage + ", want " + want.storage + ")");
    if (want.retention != have.retention)
        d.conflicting.push_back("retention (" + have.retention + ", want " + want.retention + ")");
    if (want.num_replicas != have.num_replicas) d.updatable.push_back("num_replicas");
    auto a = want.subjects;
    auto b = have.subjects;
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    if (a != b) d.updatable.push_back("subjects");
    if (want.max_age != have.max_age) d.updatable.push_back("max_age");
    if (want.duplicate_window != have.duplicate_window) d.updatable.push_back("duplicate_window");
    return d;
}

std::string bootstrap_report::summary() const
{
    std::string s;
    auto list = [&s](const char* what, const std::vector<std::string>& v)
    {
        if (v.empty()) return;
        if (!s.empty()) s += "; ";
        s += what;
        for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : " ") + v[i];
    };
    list("created", created);
    list("updated", updated);
    list("problems:", problems);
    return s.empty() ? "every stream as configured" : s;
}

namespace
{

std::string join(const std::vector<std::string>& v)
{
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
}

} // namespace

boost::asio::awaitable<bootstrap_report> ensure_streams(js::context& jsc, std::vector<js::stream_config> wanted,
                                                       bool bootstrap)
{
    bootstrap_report report;
    for (auto& want : wanted)
    {
        auto info = co_await jsc.get_stream_info(want.name);
        if (info.ec == js::js_errc::stream_not_found)
        {
            if (!bootstrap)
            {
                report.problems.push_back("stream " + want.name + " does not exist (jetstream.bootstrap=false)");
                continue;
            }
            auto made = co_await jsc.create_stream(want);
            if (made.ec)
                report.problems.push_back("cannot create stream " + want.name + ": " + made.error_text());
            else
                report.created.push_back(want.name);
            continue;
        }
        if (info.ec)
        {
            report.problems.push_back("cannot read stream " + want.name + ": " + info.error_text());
            continue;
        }
        auto diff = compare_stream(want, info.value.config);
        if (!diff.conflicting.empty())
        {
            report.problems.push_back("stream " + want.name + " exists with other " + join(diff.conflicting) +
                                      "; fix or remove it (js stream rm " + want.name + " --force)");
            continue;
        }
        if (diff.updatable.empty()) continue;
        if (!bootstrap)
        {
            report.problems.push_back("stream " + want.name + " differs in " + join(diff.updatable) +
                                      " (jetstream.bootstrap=false)");
            continue;
        }
        // Keep what the operator set that we do not manage; change only what differs.
        auto update = info.value.config;
        update.subjects = want.subjects;
        update.max_age = want.max_age;
        update.duplicate_window = want.duplicate_window;
        update.num_replicas = want.num_replicas;
        auto done = co_await jsc.update_stream(update);
        if (done.ec)
            report.problems.push_back("cannot update stream " + want.name + " (" + join(diff.updatable) +
                                      "): " + done.error_text());
        else
            report.updated.push_back(want.name + " (" + join(diff.updatable) + ")");
    }
    co_return report;
}

} // namespace beamline::app

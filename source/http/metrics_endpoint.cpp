#include "beamline/http/metrics_endpoint.hpp"

#include "beamline/metrics/prometheus.hpp"

namespace beamline::http
{

sync_handler metrics_handler(const metrics::registry& reg)
{
    return [&reg](const request&)
    {
        return text_response(status::ok, metrics::render_text(reg),
                             std::string(metrics::prometheus_content_type));
    };
}

} // namespace beamline::http

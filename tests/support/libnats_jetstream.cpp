#include "libnats_jetstream.hpp"

namespace beamline::test
{

libnats_jetstream::libnats_jetstream(libnats_peer& peer, std::int64_t max_pending_async)
{
    jsOptions opts;
    jsOptions_Init(&opts);
    opts.PublishAsync.MaxPending = max_pending_async;
    status_ = peer.get() ? natsConnection_JetStream(&js_, peer.get(), &opts) : NATS_CONNECTION_CLOSED;
}

libnats_jetstream::~libnats_jetstream()
{
    if (js_) jsCtx_Destroy(js_);
}

std::optional<libnats_pub_ack> libnats_jetstream::publish(const std::string& subject, const std::string& data,
                                                          const std::string& msg_id, natsStatus* failure,
                                                          jsErrCode* code)
{
    jsPubOptions opts;
    jsPubOptions_Init(&opts);
    if (!msg_id.empty()) opts.MsgId = msg_id.c_str();
    jsPubAck* ack = nullptr;
    jsErrCode err = static_cast<jsErrCode>(0);
    natsStatus s = js_Publish(&ack, js_, subject.c_str(), data.data(), static_cast<int>(data.size()), &opts, &err);
    if (code) *code = err;
    if (failure) *failure = s;
    if (s != NATS_OK) return std::nullopt;
    libnats_pub_ack out{ack->Stream ? ack->Stream : "", ack->Sequence, ack->Duplicate};
    jsPubAck_Destroy(ack);
    return out;
}

natsStatus libnats_jetstream::publish_async(const std::string& subject, const std::string& data, int count,
                                            std::int64_t complete_timeout_ms)
{
    return publish_async_each(subject, std::vector<std::string>(count > 0 ? static_cast<std::size_t>(count) : 0u, data),
                              complete_timeout_ms);
}

natsStatus libnats_jetstream::publish_async_each(const std::string& subject, const std::vector<std::string>& bodies,
                                                 std::int64_t complete_timeout_ms)
{
    for (const auto& body : bodies)
        if (natsStatus s = js_PublishAsync(js_, subject.c_str(), body.data(), static_cast<int>(body.size()), nullptr);
            s != NATS_OK)
            return s;
    jsPubOptions opts;
    jsPubOptions_Init(&opts);
    opts.MaxWait = complete_timeout_ms;
    return js_PublishAsyncComplete(js_, &opts);
}

natsStatus libnats_jetstream::add_stream(const std::string& name, const std::vector<std::string>& subjects)
{
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = name.c_str();
    std::vector<const char*> subs;
    for (const auto& s : subjects)
        subs.push_back(s.c_str());
    cfg.Subjects = subs.data();
    cfg.SubjectsLen = static_cast<int>(subs.size());
    cfg.Storage = js_FileStorage;
    jsStreamInfo* si = nullptr;
    natsStatus s = js_AddStream(&si, js_, &cfg, nullptr, nullptr);
    if (si) jsStreamInfo_Destroy(si);
    return s;
}

libnats_pull_subscription::libnats_pull_subscription(libnats_jetstream& js, const std::string& subject,
                                                     const std::string& durable, const std::string& stream)
{
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream.c_str();
    status_ = js_PullSubscribe(&sub_, js.get(), subject.c_str(), durable.c_str(), nullptr, &so, nullptr);
}

libnats_pull_subscription::~libnats_pull_subscription()
{
    // Destroy, not Unsubscribe: unsubscribing a durable's pull subscription would delete the durable.
    if (sub_) natsSubscription_Destroy(sub_);
}

std::vector<fetched_message> libnats_pull_subscription::fetch(int batch, std::int64_t timeout_ms, bool ack,
                                                              natsStatus* failure)
{
    std::vector<fetched_message> out;
    natsMsgList list{};
    natsStatus s = natsSubscription_Fetch(&list, sub_, batch, timeout_ms, nullptr);
    if (failure) *failure = s;
    for (int i = 0; i < list.Count; ++i)
    {
        natsMsg* m = list.Msgs[i];
        fetched_message f;
        f.subject = natsMsg_GetSubject(m);
        f.data.assign(natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m)));
        jsMsgMetaData* meta = nullptr;
        if (natsMsg_GetMetaData(&meta, m) == NATS_OK)
        {
            f.delivered = meta->NumDelivered;
            f.stream_seq = meta->Sequence.Stream;
            jsMsgMetaData_Destroy(meta);
        }
        if (ack) natsMsg_Ack(m, nullptr);
        out.push_back(std::move(f));
    }
    natsMsgList_Destroy(&list);
    return out;
}

} // namespace beamline::test

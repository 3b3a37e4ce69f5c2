// hopboxd's request handlers with arbitrary (parsed) protobuf messages, through a real gRPC
// server in this process (in-process channel), called as a real signed-in device of one of
// two accounts or without a session. Input: byte 0 picks the RPC, byte 1 the caller, the rest
// is the request message (for Upload: up to four length-prefixed UploadRequest messages).
// The service must answer every call with a status and never crash; the state carries over
// between inputs, as it would for a long-running service.
#include <google/protobuf/stubs/logging.h>
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <filesystem>
#include <memory>

#include "payload_store.h"
#include "reencryptor.h"
#include "service.h"
#include "sqlite_store.h"
#include "test_client.h"

namespace {

namespace fs = std::filesystem;
namespace v1 = hopbox::v1;
using hopboxd::test::TestDevice;

struct World {
  fs::path dir;
  std::unique_ptr<hopboxd::SqliteStore> store;
  std::unique_ptr<hopboxd::PayloadStore> payloads;
  std::unique_ptr<hopboxd::Reencryptor> reencryptor;
  std::unique_ptr<hopboxd::HopboxService> service;
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<v1::Hopbox::Stub> stub;
  TestDevice alice, alice2, bob;
};

World* world = nullptr;

void must(const grpc::Status& s, const char* what) {
  if (s.ok()) return;
  std::fprintf(stderr, "fuzz_service set-up: %s: %s\n", what, s.error_message().c_str());
  std::abort();
}

void set_up() {
  // Refusals are the expected answers here: their log lines would drown the fuzzer's.
  spdlog::set_level(spdlog::level::off);
  google::protobuf::SetLogHandler(nullptr);
  world = new World;
  char tmpl[] = "/tmp/hopbox-fuzz-service-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) std::abort();
  world->dir = tmpl;
  world->store = std::make_unique<hopboxd::SqliteStore>((world->dir / "hopbox.db").string());
  world->payloads = std::make_unique<hopboxd::PayloadStore>(world->dir / "payloads");
  world->reencryptor = std::make_unique<hopboxd::Reencryptor>(64, 1);
  hopboxd::ServiceLimits limits;
  limits.max_payload_bytes = 1 << 20;
  world->service = std::make_unique<hopboxd::HopboxService>(*world->store, *world->payloads,
                                                            *world->reencryptor, limits);
  grpc::ServerBuilder builder;
  builder.RegisterService(world->service.get());
  world->server = builder.BuildAndStart();
  world->stub = v1::Hopbox::NewStub(world->server->InProcessChannel(grpc::ChannelArguments()));
  // Two accounts with an own-device edge, an item and a share: state for the handlers to
  // act on.
  auto& stub = *world->stub;
  must(hopboxd::test::create_account(stub, "alice", world->alice), "alice");
  must(hopboxd::test::add_device(stub, world->alice, world->alice2), "alice's device");
  must(hopboxd::test::create_account(stub, "bob", world->bob), "bob");
  const v1::AccessPolicy all;
  must(hopboxd::test::install_rekey(stub, world->alice, world->alice2, v1::REKEY_KIND_OWN_DEVICE,
                                    all, nullptr),
       "own edge");
  must(hopboxd::test::install_rekey(stub, world->alice, world->bob, v1::REKEY_KIND_SHARE, all,
                                    nullptr),
       "share");
  must(hopboxd::test::upload_item(stub, world->alice, "alice", "doc", "hello"), "item");
}

// Reads length-prefixed messages (2 bytes, big-endian) from the input.
template <class Message>
std::vector<Message> messages(const std::uint8_t* data, std::size_t size, std::size_t most) {
  std::vector<Message> out;
  while (size >= 2 && out.size() < most) {
    const std::size_t n = std::min<std::size_t>(size - 2, (std::size_t{data[0]} << 8) | data[1]);
    Message m;
    if (!m.ParseFromArray(data + 2, static_cast<int>(n))) break;
    out.push_back(std::move(m));
    data += 2 + n;
    size -= 2 + n;
  }
  return out;
}

template <class Request, class Response, class Call>
void unary(const std::uint8_t* data, std::size_t size, const TestDevice* caller, Call call) {
  Request req;
  if (!req.ParseFromArray(data, static_cast<int>(size))) return;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  if (caller != nullptr) caller->authorize(ctx);
  Response resp;
  (void)call(&ctx, req, &resp);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (world == nullptr) set_up();
  if (size < 2) return 0;
  auto& s = *world->stub;
  const TestDevice* callers[] = {&world->alice, &world->alice2, &world->bob, nullptr};
  const TestDevice* caller = callers[data[1] % 4];
  const std::uint8_t* body = data + 2;
  const std::size_t n = size - 2;
#define HOPBOX_UNARY(Method, Request, Response)     \
  unary<v1::Request, v1::Response>(body, n, caller, \
                                   [&](auto* c, auto& q, auto* r) { return s.Method(c, q, r); })
  switch (data[0] % 34) {
    case 0:
      HOPBOX_UNARY(CreateAccount, CreateAccountRequest, CreateAccountResponse);
      break;
    case 1:
      HOPBOX_UNARY(BeginSession, BeginSessionRequest, BeginSessionResponse);
      break;
    case 2:
      HOPBOX_UNARY(CompleteSession, CompleteSessionRequest, CompleteSessionResponse);
      break;
    case 3:
      HOPBOX_UNARY(RequestPairing, RequestPairingRequest, RequestPairingResponse);
      break;
    case 4:
      HOPBOX_UNARY(AddDevice, AddDeviceRequest, AddDeviceResponse);
      break;
    case 5:
      HOPBOX_UNARY(ListDevices, ListDevicesRequest, ListDevicesResponse);
      break;
    case 6:
      HOPBOX_UNARY(RemoveDevice, RemoveDeviceRequest, RemoveDeviceResponse);
      break;
    case 7:
      HOPBOX_UNARY(PromoteDevice, PromoteDeviceRequest, PromoteDeviceResponse);
      break;
    case 8:
      HOPBOX_UNARY(UpdateDeviceCertificate, UpdateDeviceCertificateRequest,
                   UpdateDeviceCertificateResponse);
      break;
    case 9:
      HOPBOX_UNARY(RegisterRecoveryKey, RegisterRecoveryKeyRequest, RegisterRecoveryKeyResponse);
      break;
    case 10:
      HOPBOX_UNARY(RequestRecovery, RequestRecoveryRequest, RequestRecoveryResponse);
      break;
    case 11:
      HOPBOX_UNARY(ExpectRecovery, ExpectRecoveryRequest, ExpectRecoveryResponse);
      break;
    case 12:
      HOPBOX_UNARY(AnnouncePromotion, AnnouncePromotionRequest, AnnouncePromotionResponse);
      break;
    case 13:
      HOPBOX_UNARY(CancelRecovery, CancelRecoveryRequest, CancelRecoveryResponse);
      break;
    case 14:
      HOPBOX_UNARY(ListRecoveries, ListRecoveriesRequest, ListRecoveriesResponse);
      break;
    case 15:
      HOPBOX_UNARY(ReencryptChallenge, ReencryptChallengeRequest, ReencryptChallengeResponse);
      break;
    case 16:
      HOPBOX_UNARY(PutThresholdRecovery, ThresholdRecovery, PutThresholdRecoveryResponse);
      break;
    case 17:
      HOPBOX_UNARY(GetThresholdRecovery, GetThresholdRecoveryRequest, ThresholdRecovery);
      break;
    case 18:
      HOPBOX_UNARY(SubmitRecoveryShares, SubmitRecoverySharesRequest, RecoveryProgress);
      break;
    case 19:
      HOPBOX_UNARY(GetRecoveryProgress, GetRecoveryProgressRequest, RecoveryProgress);
      break;
    case 20:
      HOPBOX_UNARY(ListItems, ListItemsRequest, ListItemsResponse);
      break;
    case 21:
      HOPBOX_UNARY(DeleteItem, DeleteItemRequest, DeleteItemResponse);
      break;
    case 22:
      HOPBOX_UNARY(RefreshItem, RefreshItemRequest, RefreshItemResponse);
      break;
    case 23:
      HOPBOX_UNARY(InstallReKey, InstallReKeyRequest, InstallReKeyResponse);
      break;
    case 24:
      HOPBOX_UNARY(RevokeReKey, RevokeReKeyRequest, RevokeReKeyResponse);
      break;
    case 25:
      HOPBOX_UNARY(ListReKeys, ListReKeysRequest, ListReKeysResponse);
      break;
    case 26:
      HOPBOX_UNARY(SendNotification, SendNotificationRequest, SendNotificationResponse);
      break;
    case 27:
      HOPBOX_UNARY(AckNotification, AckNotificationRequest, AckNotificationResponse);
      break;
    case 28:
      HOPBOX_UNARY(Health, HealthRequest, HealthResponse);
      break;
    case 29: {  // Download: read the whole stream
      v1::DownloadRequest req;
      if (!req.ParseFromArray(body, static_cast<int>(n))) break;
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      if (caller != nullptr) caller->authorize(ctx);
      auto reader = s.Download(&ctx, req);
      v1::DownloadResponse msg;
      while (reader->Read(&msg)) {
      }
      (void)reader->Finish();
      break;
    }
    default: {  // Upload: a header, payload and commit in any order and number
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      if (caller != nullptr) caller->authorize(ctx);
      v1::UploadResponse resp;
      auto writer = s.Upload(&ctx, &resp);
      for (const auto& m : messages<v1::UploadRequest>(body, n, 4)) {
        if (!writer->Write(m)) break;
      }
      writer->WritesDone();
      (void)writer->Finish();
      break;
    }
  }
#undef HOPBOX_UNARY
  return 0;
}

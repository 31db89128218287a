// lowMemoryNotification(): asks V8 to collect everything it can in the calling thread's isolate
// and give the freed pages back (v8::Isolate::LowMemoryNotification). The one call of the addon
// that uses V8's C++ API rather than N-API, so the addon must be built against the Node it runs
// on (it always is: npm run build:native, the Dockerfile). Used by the responder worker after a
// burst of commands has left its old generation full of garbage that V8 would otherwise keep
// until its (large) initial limit is reached (docs/footprint.md).
#include <node_api.h>
#include <v8.h>

static napi_value LowMemoryNotification(napi_env env, napi_callback_info info) {
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  if (isolate != nullptr) isolate->LowMemoryNotification();
  return nullptr;
}

extern "C" void v8_memory_register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"lowMemoryNotification", nullptr, LowMemoryNotification, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}

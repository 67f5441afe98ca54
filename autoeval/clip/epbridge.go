package clip

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>

// A minimal view of ONNX Runtime's C API, for the calls onnxruntime_go v1.27
// does not wrap (plugin execution-provider devices). The OrtApi struct is a
// table of function pointers that ONNX Runtime only ever appends to (its ABI
// promise), so a function's slot never moves; the slots below were counted in
// onnxruntime_c_api.h (API 24) and exist since API 22 (ONNX Runtime 1.22).
typedef struct OrtStatus OrtStatus;
typedef struct OrtEnv OrtEnv;
typedef struct OrtSessionOptions OrtSessionOptions;
typedef struct OrtEpDevice OrtEpDevice;
typedef struct OrtHardwareDevice OrtHardwareDevice;

typedef struct {
	const void *(*GetApi)(uint32_t version);
	const char *(*GetVersionString)(void);
} capevalOrtApiBase;

enum {
	slotGetErrorMessage = 2,
	slotCreateEnv = 3,
	slotReleaseEnv = 92,
	slotReleaseStatus = 93,
	slotGetEpDevices = 303,
	slotAppendEPV2 = 304,
	slotHardwareDeviceType = 307,
	slotHardwareDeviceVendorId = 308,
	slotHardwareDeviceVendor = 309,
	slotHardwareDeviceDeviceId = 310,
	slotEpDeviceEpName = 312,
	slotEpDeviceEpVendor = 313,
	slotEpDeviceDevice = 316,
};

static void *const *capeval_api;
static OrtEnv *capeval_env;

// capeval_open finds the OrtApi of the library already loaded from path
// (RTLD_NOLOAD: never a second copy) and a reference to its environment.
static int capeval_open(const char *path, char **err) {
	void *h = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
	if (!h) { *err = "library not loaded by onnxruntime_go"; return 1; }
	const capevalOrtApiBase *(*getBase)(void) = dlsym(h, "OrtGetApiBase");
	if (!getBase) { dlclose(h); *err = "OrtGetApiBase not found"; return 2; }
	const capevalOrtApiBase *base = getBase();
	capeval_api = (void *const *)base->GetApi(22);
	dlclose(h); // onnxruntime_go keeps its own handle open
	if (!capeval_api) { *err = "library does not offer C API version 22"; return 3; }
	// The environment is a process singleton in ONNX Runtime: CreateEnv
	// returns the instance onnxruntime_go created and counts a reference,
	// which capeval_close gives back.
	OrtStatus *(*createEnv)(int, const char *, OrtEnv **) = capeval_api[slotCreateEnv];
	OrtStatus *st = createEnv(3, "capeval", &capeval_env);
	if (st) {
		const char *(*msg)(const OrtStatus *) = capeval_api[slotGetErrorMessage];
		*err = (char *)msg(st);
		return 4; // the status is leaked with its message; this is a fatal path
	}
	return 0;
}

static void capeval_close(void) {
	if (capeval_env) {
		void (*release)(OrtEnv *) = capeval_api[slotReleaseEnv];
		release(capeval_env);
		capeval_env = NULL;
	}
	capeval_api = NULL;
}

// capeval_status turns a status into a malloc'd message and releases it.
static char *capeval_status(OrtStatus *st) {
	if (!st) return NULL;
	const char *(*msg)(const OrtStatus *) = capeval_api[slotGetErrorMessage];
	void (*release)(OrtStatus *) = capeval_api[slotReleaseStatus];
	const char *m = msg(st);
	size_t n = 0;
	while (m[n]) n++;
	char *out = malloc(n + 1);
	for (size_t i = 0; i <= n; i++) out[i] = m[i];
	release(st);
	return out;
}

static char *capeval_ep_devices(const OrtEpDevice *const **devs, size_t *n) {
	OrtStatus *(*f)(const OrtEnv *, const OrtEpDevice *const **, size_t *) = capeval_api[slotGetEpDevices];
	return capeval_status(f(capeval_env, devs, n));
}

static const OrtEpDevice *capeval_device_at(const OrtEpDevice *const *devs, size_t i) { return devs[i]; }

static const char *capeval_ep_name(const OrtEpDevice *d) {
	const char *(*f)(const OrtEpDevice *) = capeval_api[slotEpDeviceEpName];
	return f(d);
}

static const char *capeval_ep_vendor(const OrtEpDevice *d) {
	const char *(*f)(const OrtEpDevice *) = capeval_api[slotEpDeviceEpVendor];
	return f(d);
}

static const OrtHardwareDevice *capeval_hw(const OrtEpDevice *d) {
	const OrtHardwareDevice *(*f)(const OrtEpDevice *) = capeval_api[slotEpDeviceDevice];
	return f(d);
}

static int capeval_hw_type(const OrtHardwareDevice *h) {
	int (*f)(const OrtHardwareDevice *) = capeval_api[slotHardwareDeviceType];
	return f(h);
}

static uint32_t capeval_hw_u32(const OrtHardwareDevice *h, int slot) {
	uint32_t (*f)(const OrtHardwareDevice *) = capeval_api[slot];
	return f(h);
}

static const char *capeval_hw_vendor(const OrtHardwareDevice *h) {
	const char *(*f)(const OrtHardwareDevice *) = capeval_api[slotHardwareDeviceVendor];
	return f(h);
}

static char *capeval_append_v2(OrtSessionOptions *so, const OrtEpDevice *d,
                               const char *const *keys, const char *const *vals, size_t n) {
	OrtStatus *(*f)(OrtSessionOptions *, OrtEnv *, const OrtEpDevice *const *, size_t,
	                const char *const *, const char *const *, size_t) = capeval_api[slotAppendEPV2];
	const OrtEpDevice *one[1] = {d};
	return capeval_status(f(so, capeval_env, one, 1, keys, vals, n));
}
*/
import "C"

import (
	"errors"
	"fmt"
	"sort"
	"unsafe"

	ort "github.com/yalue/onnxruntime_go"
)

// EPDevice is one (execution provider, hardware device) pair that ONNX
// Runtime offers, as GetEpDevices lists them: the CPU provider on the CPU
// always, plus one entry per device of each registered plugin provider.
type EPDevice struct {
	EPName     string // e.g. "CPUExecutionProvider", "CUDAExecutionProvider"
	EPVendor   string
	DeviceType string // "cpu", "gpu" or "npu"
	Vendor     string
	VendorID   uint32
	DeviceID   uint32
	ptr        *C.OrtEpDevice
}

// String names the device for logs.
func (d EPDevice) String() string {
	return fmt.Sprintf("%s on %s %s (vendor %#x, device %#x)", d.EPName, d.Vendor, d.DeviceType, d.VendorID, d.DeviceID)
}

// bridgeOpen connects the bridge to the ONNX Runtime library that
// onnxruntime_go loaded from libPath. The caller holds envMu.
func bridgeOpen(libPath string) error {
	cPath := C.CString(libPath)
	defer C.free(unsafe.Pointer(cPath))
	var cErr *C.char
	if rc := C.capeval_open(cPath, &cErr); rc != 0 {
		return fmt.Errorf("clip: execution-provider bridge for %s: %s", libPath, C.GoString(cErr))
	}
	return nil
}

// bridgeClose gives back the bridge's environment reference. The caller holds
// envMu, before onnxruntime_go destroys its own reference.
func bridgeClose() { C.capeval_close() }

// cError converts a malloc'd message from the bridge into an error.
func cError(msg *C.char) error {
	if msg == nil {
		return nil
	}
	defer C.free(unsafe.Pointer(msg))
	return errors.New(C.GoString(msg))
}

// listEPDevices returns what GetEpDevices reports, in ONNX Runtime's order.
// The caller holds an environment reference.
func listEPDevices() ([]EPDevice, error) {
	var devs **C.OrtEpDevice
	var n C.size_t
	if err := cError(C.capeval_ep_devices((***C.OrtEpDevice)(unsafe.Pointer(&devs)), &n)); err != nil {
		return nil, fmt.Errorf("clip: GetEpDevices: %w", err)
	}
	out := make([]EPDevice, 0, int(n))
	for i := range int(n) {
		d := C.capeval_device_at(devs, C.size_t(i))
		hw := C.capeval_hw(d)
		typ := "cpu"
		switch C.capeval_hw_type(hw) {
		case 1:
			typ = "gpu"
		case 2:
			typ = "npu"
		}
		out = append(out, EPDevice{
			EPName:     C.GoString(C.capeval_ep_name(d)),
			EPVendor:   C.GoString(C.capeval_ep_vendor(d)),
			DeviceType: typ,
			Vendor:     C.GoString(C.capeval_hw_vendor(hw)),
			VendorID:   uint32(C.capeval_hw_u32(hw, C.slotHardwareDeviceVendorId)),
			DeviceID:   uint32(C.capeval_hw_u32(hw, C.slotHardwareDeviceDeviceId)),
			ptr:        d,
		})
	}
	return out, nil
}

// sessionOptionsPtr reaches the OrtSessionOptions* inside ort.SessionOptions.
// onnxruntime_go keeps it in an unexported field and offers no accessor nor
// a call for SessionOptionsAppendExecutionProvider_V2; the struct has that one
// pointer field (v1.27), which TestSessionOptionsLayout pins so an upgrade
// that changes the layout fails loudly instead of corrupting memory.
func sessionOptionsPtr(o *ort.SessionOptions) *C.OrtSessionOptions {
	return *(**C.OrtSessionOptions)(unsafe.Pointer(o))
}

// appendEPDevice adds the device's execution provider to the session options
// with SessionOptionsAppendExecutionProvider_V2, passing provider options.
func appendEPDevice(o *ort.SessionOptions, d EPDevice, options map[string]string) error {
	keys := make([]string, 0, len(options))
	for k := range options {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	n := len(keys)
	// The arrays live in C memory: cgo forbids passing Go memory that holds
	// Go pointers, and C strings are C pointers in C memory anyway.
	ptrSize := C.size_t(unsafe.Sizeof((*C.char)(nil)))
	cKeys := unsafe.Slice((**C.char)(C.malloc(C.size_t(max(n, 1))*ptrSize)), max(n, 1))
	cVals := unsafe.Slice((**C.char)(C.malloc(C.size_t(max(n, 1))*ptrSize)), max(n, 1))
	defer C.free(unsafe.Pointer(&cKeys[0]))
	defer C.free(unsafe.Pointer(&cVals[0]))
	for i, k := range keys {
		cKeys[i] = C.CString(k)
		cVals[i] = C.CString(options[k])
		defer C.free(unsafe.Pointer(cKeys[i]))
		defer C.free(unsafe.Pointer(cVals[i]))
	}
	err := cError(C.capeval_append_v2(sessionOptionsPtr(o), d.ptr, &cKeys[0], &cVals[0], C.size_t(n)))
	if err != nil {
		return fmt.Errorf("clip: append execution provider %s: %w", d.EPName, err)
	}
	return nil
}

package clip

import (
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	ort "github.com/yalue/onnxruntime_go"

	"capeval/autoeval/clip/onnxgen"
)

// TestSessionOptionsLayout pins the assumption sessionOptionsPtr makes about
// onnxruntime_go's SessionOptions: one pointer and nothing else.
func TestSessionOptionsLayout(t *testing.T) {
	if got, want := unsafe.Sizeof(ort.SessionOptions{}), unsafe.Sizeof(uintptr(0)); got != want {
		t.Fatalf("ort.SessionOptions is %d bytes, want one pointer (%d): re-check sessionOptionsPtr", got, want)
	}
}

func TestEPBridgeCPU(t *testing.T) {
	lib := ortLibrary(t)
	if err := acquireEnv(lib); err != nil {
		t.Fatal(err)
	}
	defer releaseEnv()
	devs, err := listEPDevices()
	if err != nil {
		t.Fatal(err)
	}
	var cpu *EPDevice
	for i := range devs {
		t.Logf("device %d: %s", i, devs[i])
		if devs[i].EPName == "CPUExecutionProvider" {
			cpu = &devs[i]
		}
	}
	if cpu == nil || cpu.DeviceType != "cpu" {
		t.Fatalf("GetEpDevices lists no CPU execution provider on the CPU: %v", devs)
	}

	// A session whose provider was chosen through the bridge runs.
	dir := t.TempDir()
	path := filepath.Join(dir, "gemm.onnx")
	if err := onnxgen.MatMulModel(4, 1).WriteFile(path); err != nil {
		t.Fatal(err)
	}
	opts, err := ort.NewSessionOptions()
	if err != nil {
		t.Fatal(err)
	}
	defer opts.Destroy()
	if err := appendEPDevice(opts, *cpu, nil); err != nil {
		t.Fatal(err)
	}
	in, _ := ort.NewTensor(ort.NewShape(4, 4), make([]float32, 16))
	defer in.Destroy()
	out, _ := ort.NewEmptyTensor[float32](ort.NewShape(4, 4))
	defer out.Destroy()
	s, err := ort.NewAdvancedSession(path, []string{"a"}, []string{"c"}, []ort.Value{in}, []ort.Value{out}, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Destroy()
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}

	// Provider options the CPU provider does not know are ONNX Runtime's to
	// judge; whatever it says must come back as an error, not a crash.
	opts2, _ := ort.NewSessionOptions()
	defer opts2.Destroy()
	if err := appendEPDevice(opts2, *cpu, map[string]string{"device_id": "0"}); err != nil && !strings.Contains(err.Error(), "CPUExecutionProvider") {
		t.Fatalf("error does not name the provider: %v", err)
	}
}

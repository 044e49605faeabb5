package daemon

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports"
	"github.com/vecswitch/vecswitch/vswitch"
)

// fill sets every field of v (a pointer) to a non-zero value, slices and
// maps to one element, so that a JSON field left out of a copy shows.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Date(2026, 12, 4, 1, 2, 3, 4, time.UTC)))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0))
	case reflect.Array:
		for i := range v.Len() {
			fill(v.Index(i))
		}
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k)
		fill(e)
		v.SetMapIndex(k, e)
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(7)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(7.5)
	}
}

// TestViewsEncodeLikeTheDataPlane: each of ctl's copies decodes its
// original's JSON with no field unknown, and encodes it back the same, so
// clients read every field the daemon sends.
func TestViewsEncodeLikeTheDataPlane(t *testing.T) {
	pairs := []struct{ orig, copy any }{
		{&vswitch.QueueInfo{}, &ctl.QueueInfo{}},
		{&pipeline.PortCounters{}, &ctl.PortCounters{}},
		{&vswitch.FastPathPort{}, &ctl.FastPathPort{}},
		{&ports.FastPathCounters{}, &ctl.FastPathCounters{}},
		{&vswitch.FastPathStatus{}, &ctl.FastPathStatus{}},
		{&vswitch.WorkerInfo{}, &ctl.WorkerInfo{}},
		{&vswitch.FDBPage{}, &ctl.FDBPage{}},
		{&vswitch.RouteEntry{}, &ctl.RouteEntry{}},
		{&vswitch.NeighborEntry{}, &ctl.NeighborEntry{}},
		{&vswitch.Interface{}, &ctl.Interface{}},
		{&vswitch.VTEP{}, &ctl.VTEP{}},
		{&vswitch.VNI{}, &ctl.VNI{}},
		{&vswitch.Trace{}, &ctl.Trace{}},
		{&pipeline.NodeCounters{}, &ctl.NodeCounters{}},
		{&vswitch.VLANSet{}, &ctl.VLANSet{}},
	}
	for _, p := range pairs {
		name := reflect.TypeOf(p.orig).Elem().String()
		fill(reflect.ValueOf(p.orig).Elem())
		want, err := json.Marshal(p.orig)
		require.NoError(t, err)
		dec := json.NewDecoder(bytes.NewReader(want))
		dec.DisallowUnknownFields()
		require.NoError(t, dec.Decode(p.copy), "%s: %s", name, want)
		got, err := json.Marshal(p.copy)
		require.NoError(t, err)
		require.JSONEq(t, string(want), string(got), name)
	}
	// The hand conversions keep every field too.
	var fp vswitch.FastPathPort
	fill(reflect.ValueOf(&fp).Elem())
	requireSameJSON(t, fp, fastPathPortView(&fp))
	var tr vswitch.Trace
	fill(reflect.ValueOf(&tr).Elem())
	requireSameJSON(t, tr, traceView(tr))
	var vt vswitch.VTEP
	fill(reflect.ValueOf(&vt).Elem())
	requireSameJSON(t, vt, vtepView(&vt))
	qs := []vswitch.QueueInfo{{Queue: 1, Worker: 2}}
	requireSameJSON(t, qs, queueViews(qs))
	ws := []vswitch.WorkerInfo{{}}
	fill(reflect.ValueOf(&ws[0]).Elem())
	requireSameJSON(t, ws, workerViews(ws))
	require.Nil(t, fastPathPortView(nil))
	require.Nil(t, vtepView(nil))
}

// TestAPIConstantsAgree: the constants ctl copies for clients are the
// data plane's.
func TestAPIConstantsAgree(t *testing.T) {
	require.Equal(t, vswitch.MaxFDBPageLimit, ctl.MaxFDBPageLimit)
	require.Equal(t, vswitch.DefaultVXLANPort, ctl.DefaultVXLANPort)
	require.Equal(t, string(vswitch.Access), string(ctl.Access))
	require.Equal(t, string(vswitch.Trunk), string(ctl.Trunk))
}

func requireSameJSON(t *testing.T, want, got any) {
	t.Helper()
	a, err := json.Marshal(want)
	require.NoError(t, err)
	b, err := json.Marshal(got)
	require.NoError(t, err)
	require.JSONEq(t, string(a), string(b))
}

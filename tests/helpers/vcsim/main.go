// vcsim for Rubicon's tests: govmomi's vCenter simulator on loopback.
//
// It prints one line, the SDK URL without credentials, once it serves, and
// stops on SIGINT or SIGTERM. The account it accepts is -user with the password
// in the environment variable VCSIM_PASSWORD (kept off the command line, as the
// broker keeps its own). With -cert and -key it serves that certificate, so a
// test can check TLS verification against a CA file or a pinned fingerprint.
// With -faulty NAME that VM (with a snapshot "golden") answers as a real vCenter
// does when things are wrong: power-on fails as on a host in maintenance mode,
// reset is refused for a missing privilege, and a clone of it finds its
// datastore full.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// faultyVM is a simulated VM whose power-on, reset and clone fail. It embeds the VM
// by value: vcsim's property collector finds the managed object as its first field.
type faultyVM struct {
	simulator.VirtualMachine
}

func failedTask(this types.ManagedObjectReference, name string, fault types.BaseMethodFault) types.ManagedObjectReference {
	task := simulator.CreateTask(this, name, func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		return nil, fault
	})
	return task.Run()
}

func (vm *faultyVM) PowerOnVMTask(req *types.PowerOnVM_Task) soap.HasFault {
	fault := &types.InvalidHostState{Host: vm.Runtime.Host}
	return &methods.PowerOnVM_TaskBody{
		Res: &types.PowerOnVM_TaskResponse{Returnval: failedTask(req.This, "powerOn", fault)},
	}
}

func (vm *faultyVM) ResetVMTask(req *types.ResetVM_Task) soap.HasFault {
	fault := &types.NoPermission{Object: req.This, PrivilegeId: "VirtualMachine.Interact.Reset"}
	return &methods.ResetVM_TaskBody{
		Fault_: simulator.Fault("Permission to perform this operation was denied.", fault),
	}
}

func (vm *faultyVM) CloneVMTask(req *types.CloneVM_Task) soap.HasFault {
	fault := &types.NoDiskSpace{Datastore: "LocalDS_0"}
	return &methods.CloneVM_TaskBody{
		Res: &types.CloneVM_TaskResponse{Returnval: failedTask(req.This, "cloneVm", fault)},
	}
}

func main() {
	hosts := flag.Int("hosts", 1, "standalone hosts")
	clusters := flag.Int("clusters", 0, "clusters")
	machines := flag.Int("vms", 3, "VMs per host and per cluster")
	user := flag.String("user", "rubicon", "the account it accepts (password: $VCSIM_PASSWORD)")
	cert := flag.String("cert", "", "PEM certificate to serve (with -key)")
	key := flag.String("key", "", "PEM key of -cert")
	listen := flag.String("listen", "127.0.0.1:0", "host:port to listen on")
	faulty := flag.String("faulty", "", "the VM whose power-on, reset and clone fail")
	flag.Parse()

	password := os.Getenv("VCSIM_PASSWORD")
	if password == "" {
		log.Fatal("set VCSIM_PASSWORD")
	}

	model := simulator.VPX()
	model.Host = *hosts
	model.Cluster = *clusters
	model.ClusterHost = 1
	model.Machine = *machines
	model.Autostart = false
	if err := model.Create(); err != nil {
		log.Fatal(err)
	}
	defer model.Remove()
	for _, entity := range simulator.Map.All("VirtualMachine") {
		if vm := entity.(*simulator.VirtualMachine); vm.Name == *faulty {
			// Its snapshot "golden" first (clones need one): vcsim's snapshot code
			// cannot reach the VM once it is wrapped.
			vm.CreateSnapshotTask(&types.CreateSnapshot_Task{This: vm.Self, Name: "golden"})
			simulator.Map.Put(&faultyVM{*vm}) //nolint:govet // a copy taken before serving
		}
	}

	model.Service.Listen = &url.URL{Host: *listen, User: url.UserPassword(*user, password)}
	model.Service.TLS = new(tls.Config)
	if *cert != "" {
		pair, err := tls.LoadX509KeyPair(*cert, *key)
		if err != nil {
			log.Fatal(err)
		}
		model.Service.TLS.Certificates = []tls.Certificate{pair}
	}
	server := model.Service.NewServer()
	defer server.Close()

	served := *server.URL
	served.User = nil
	fmt.Println(served.String())
	os.Stdout.Sync()

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
}

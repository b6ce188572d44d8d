// vcsim for Rubicon's tests: govmomi's vCenter simulator on loopback.
//
// It prints one line, the SDK URL without credentials, once it serves, and
// stops on SIGINT or SIGTERM. The account it accepts is -user with the password
// in the environment variable VCSIM_PASSWORD (kept off the command line, as the
// broker keeps its own). With -cert and -key it serves that certificate, so a
// test can check TLS verification against a CA file or a pinned fingerprint.
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
)

func main() {
	hosts := flag.Int("hosts", 1, "standalone hosts")
	clusters := flag.Int("clusters", 0, "clusters")
	machines := flag.Int("vms", 3, "VMs per host and per cluster")
	user := flag.String("user", "rubicon", "the account it accepts (password: $VCSIM_PASSWORD)")
	cert := flag.String("cert", "", "PEM certificate to serve (with -key)")
	key := flag.String("key", "", "PEM key of -cert")
	listen := flag.String("listen", "127.0.0.1:0", "host:port to listen on")
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

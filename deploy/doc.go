// Package deploy holds the checks of how Homeward is shipped: the Dockerfile
// and docker-compose.yml at the top of the repository (see deploy_test.go).
package deploy

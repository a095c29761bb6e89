// Package worker hosts the episode workflow and its activities on a task
// queue. Workers are stateless: run as many as the load needs.
package worker

import (
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"homeward/activities"
	"homeward/workflows"
)

// New registers the episode workflow and the activities on taskQueue.
// The activities start children's records through c on taskQueue unless
// they were given another client.
func New(c client.Client, taskQueue string, acts *activities.Activities) sdkworker.Worker {
	if acts.Temporal == nil {
		acts.Temporal, acts.TaskQueue = c, taskQueue
	}
	w := sdkworker.New(c, taskQueue, sdkworker.Options{
		// Give a running activity (an email mid-send) time to finish on shutdown.
		WorkerStopTimeout: 10 * time.Second,
	})
	Register(w, acts)
	return w
}

// Register puts the workflow and activities on any registry: a worker, a
// replayer or a test environment.
func Register(r interface {
	RegisterWorkflowWithOptions(interface{}, workflow.RegisterOptions)
	RegisterActivity(interface{})
}, acts *activities.Activities) {
	r.RegisterWorkflowWithOptions(workflows.Episode, workflow.RegisterOptions{Name: "Episode"})
	r.RegisterWorkflowWithOptions(workflows.RetentionPurge, workflow.RegisterOptions{Name: workflows.RetentionPurgeWorkflow})
	r.RegisterWorkflowWithOptions(workflows.ChildRecord, workflow.RegisterOptions{Name: activities.ChildRecordWorkflow})
	r.RegisterActivity(acts)
}
